"""Typed records of a change: the files, hunks and lines of a diff, and the metadata around it.

Everything downstream (workspace, specialists, finding placement, publishing) speaks these types,
never unidiff's or GitPython's or PyGithub's objects, so the sources stay at the edge.
All records are frozen: a change, once read, is a value.

A large change stays small in memory: a parsed ``Hunk`` holds offsets into its file's ``patch`` and
reads its ``Line`` records from there when asked (none is kept), and the commentable and added lines
are ``LineSet`` runs, not a set entry per line.
"""
from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
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


_EMPTY_BODY_LINE = re.compile(r"[\r\n]{1,2}")      # unidiff's blank hunk line: a context line


class Hunk:
    """One hunk: its ``@@`` numbers and section, and its lines.

    A hunk parsed from a patch holds no lines: it keeps the patch text and the offsets of its body
    (the lines after its ``@@`` header), and ``lines`` reads them from there each time they are
    asked for (``iter_lines`` one at a time), so a 10 MB diff is not held a second time as records.
    A hunk built from ``lines`` (tests, other sources) keeps them. Immutable, compared by value.
    """

    __slots__ = ("old_start", "old_len", "new_start", "new_len", "section", "_given", "_text", "_start", "_end")
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str
    _given: tuple[Line, ...] | None
    _text: str
    _start: int
    _end: int

    def __init__(self, old_start: int, old_len: int, new_start: int, new_len: int, section: str,
                 lines: tuple[Line, ...] | None = None, *, text: str = "", start: int = 0, end: int = 0) -> None:
        for name, value in (("old_start", old_start), ("old_len", old_len), ("new_start", new_start),
                            ("new_len", new_len), ("section", section), ("_given", lines), ("_text", text),
                            ("_start", start), ("_end", end)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Hunk is immutable: cannot set {name}")

    @property
    def lines(self) -> tuple[Line, ...]:
        return self._given if self._given is not None else tuple(self.iter_lines())

    def iter_lines(self) -> Iterator[Line]:
        """The lines one at a time (read from the patch text; "\\ No newline" markers are not lines)."""
        if self._given is not None:
            yield from self._given
            return
        text, pos, end = self._text, self._start, self._end
        old_no, new_no = self.old_start, self.new_start
        while pos < end:
            nl = text.find("\n", pos, end)
            stop = end if nl < 0 else nl + 1
            kind = text[pos:pos + 1]
            if kind in ("+", "-", " "):
                value = text[pos + 1:stop]
            elif kind == "\\":
                pos = stop
                continue
            else:                                   # a blank line: validated as such by the parser
                m = _EMPTY_BODY_LINE.match(text, pos, stop)
                kind, value = " ", m.group(0) if m else ""
            pos = stop
            value = value.removesuffix("\n")
            if kind == "+":
                yield Line("+", None, new_no, value)
                new_no += 1
            elif kind == "-":
                yield Line("-", old_no, None, value)
                old_no += 1
            else:
                yield Line(" ", old_no, new_no, value)
                old_no += 1
                new_no += 1

    def new_numbers(self) -> range | frozenset[int]:
        """The new-file numbers of the added and context lines: the header's range for a parsed hunk
        (the parser checked the lines against it), the lines' own numbers for one built from lines."""
        if self._given is None:
            return range(self.new_start, self.new_start + self.new_len)
        return frozenset(ln.new_no for ln in self._given if ln.new_no is not None)

    def _key(self) -> tuple[int, int, int, int, str, tuple[Line, ...]]:
        return (self.old_start, self.old_len, self.new_start, self.new_len, self.section, self.lines)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Hunk) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Hunk(old_start={self.old_start}, old_len={self.old_len}, new_start={self.new_start}, "
                f"new_len={self.new_len}, section={self.section!r}, lines={self.lines!r})")


class LineSet(AbstractSet[int]):
    """A set of line numbers held as sorted, disjoint ranges (a hunk's lines are runs): membership by
    bisection, a few bytes per run instead of a set entry per line. Compares equal to a set of the
    same numbers."""

    __slots__ = ("_starts", "_ends", "_len")

    def __init__(self, runs: Iterable[tuple[int, int]] = ()) -> None:
        starts, ends = array("q"), array("q")
        for a, b in sorted(runs):                   # [a, b) runs, merged when they touch
            if b <= a:
                continue
            if ends and a <= ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        self._starts, self._ends = starts, ends
        self._len = sum(b - a for a, b in zip(starts, ends, strict=True))

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int):
            return False
        i = bisect_right(self._starts, n) - 1
        return i >= 0 and n < self._ends[i]

    def __iter__(self) -> Iterator[int]:
        for a, b in zip(self._starts, self._ends, strict=True):
            yield from range(a, b)

    def __len__(self) -> int:
        return self._len

    def __hash__(self) -> int:
        return self._hash()

    def __repr__(self) -> str:
        return f"LineSet({[(a, b) for a, b in zip(self._starts, self._ends, strict=True)]})"


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
    def commentable_lines(self) -> LineSet:
        """New-file line numbers GitHub accepts an inline comment on (RIGHT side): added and context lines."""
        return LineSet(_runs(n for h in self.hunks for n in h.new_numbers()))

    @cached_property
    def added_lines(self) -> LineSet:
        return LineSet(_runs(ln.new_no for h in self.hunks for ln in h.iter_lines()
                             if ln.kind == "+" and ln.new_no is not None))

    def hunk_index(self, new_line: int) -> int | None:
        """Index of the hunk holding this new-file line, or None."""
        for i, h in enumerate(self.hunks):
            if new_line in h.new_numbers():
                return i
        return None


def _runs(numbers: Iterable[int]) -> Iterator[tuple[int, int]]:
    """[a, b) runs of consecutive numbers, in the order given (LineSet sorts and merges them)."""
    start = prev = None
    for n in numbers:
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None and prev is not None:
            yield start, prev + 1
        start = prev = n
    if start is not None and prev is not None:
        yield start, prev + 1


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
