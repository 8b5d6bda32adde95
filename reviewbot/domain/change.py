"""Typed records of a change: the files, hunks and lines of a diff, and the metadata around it.

Everything downstream (workspace, specialists, finding placement, publishing) speaks these types,
never unidiff's or GitPython's or PyGithub's objects, so the sources stay at the edge.
All records are frozen: a change, once read, is a value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class FileStatus(StrEnum):
    """What happened to a file. Binary-ness and mode changes are flags beside the status, not statuses."""

    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"


ADDED, MODIFIED, DELETED, RENAMED, COPIED = (FileStatus.ADDED, FileStatus.MODIFIED, FileStatus.DELETED,
                                             FileStatus.RENAMED, FileStatus.COPIED)
STATUSES: tuple[FileStatus, ...] = tuple(FileStatus)


@dataclass(frozen=True, slots=True)     # one per diff line: slots keep a 10 MB diff's records small
class Line:
    """One line of a hunk. kind is '+', '-' or ' '; numbers are None on the side it is absent."""

    kind: str
    old_no: int | None
    new_no: int | None
    text: str


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class FileChange:
    """One changed file.

    path is the new path (the old one for a deletion); old_path is set for renames and copies.
    patch is this file's unified diff as text, git style (``diff --git`` header, ``---``/``+++``,
    hunks), with "\\n" line ends; it is what the workspace writes and the reviewers read.
    """

    path: str
    status: FileStatus
    patch: str
    hunks: tuple[Hunk, ...] = ()
    old_path: str | None = None
    is_binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    additions: int = 0
    deletions: int = 0
    note: str = ""          # e.g. "patch truncated", "patch omitted by the source"

    @cached_property
    def commentable_lines(self) -> frozenset[int]:
        """New-file line numbers GitHub accepts an inline comment on (RIGHT side): added and context lines."""
        return frozenset(ln.new_no for h in self.hunks for ln in h.lines if ln.new_no is not None)

    @cached_property
    def added_lines(self) -> frozenset[int]:
        return frozenset(ln.new_no for h in self.hunks for ln in h.lines if ln.kind == "+" and ln.new_no is not None)

    def hunk_index(self, new_line: int) -> int | None:
        """Index of the hunk holding this new-file line, or None."""
        for i, h in enumerate(self.hunks):
            if any(ln.new_no == new_line for ln in h.lines):
                return i
        return None


@dataclass(frozen=True)
class ChangeMeta:
    """What is known about the change besides its diff (a PR's or a local branch's)."""

    title: str = ""
    description: str = ""
    author: str = ""
    base_ref: str = ""
    head_ref: str = ""
    base_sha: str = ""
    head_sha: str = ""
    commits: tuple[str, ...] = ()      # commit subjects, oldest first
    repository: str = ""               # owner/name on GitHub, or the local directory name
    number: int | None = None          # PR number, when there is one


@dataclass(frozen=True)
class Change:
    meta: ChangeMeta
    files: tuple[FileChange, ...] = field(default_factory=tuple)
    review_rules: tuple[tuple[str, str], ...] = ()   # (file name, text) of REVIEW.md / AGENTS.md ... from the base
    prior_findings: tuple[str, ...] = ()             # one line each: findings already posted on this PR
    sources: tuple[tuple[str, str], ...] = ()        # (path, full new text) of changed text files, when known
    # (subject, files) of each commit of a patch series, oldest first, when the change is one (--diff)
    history: tuple[tuple[str, tuple[FileChange, ...]], ...] = ()

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    def file(self, path: str) -> FileChange | None:
        for f in self.files:
            if f.path == path or f.old_path == path:
                return f
        return None
