"""A GitHub pull request as a `Change`: the same records `reviewbot review` builds from git.

GitHub gives each file's hunks (`patch`) without a header; `file_change_from_patch` turns them into
the FileChange the workspace, the reviewers and the placement of findings all use, so a review of a
PR and of the same branch checked out locally see the same files.

Trust: the PR's head is the author's. Review rules (REVIEW.md, AGENTS.md, CLAUDE.md, CONTRIBUTING.md)
and the bot's own configuration (`.reviewbot.toml`, `[tool.reviewbot]`) are read from the *base*
commit through the contents API, never from the head, so a PR cannot rewrite the rules it is judged
by or switch reviewers off. Nothing of the PR is checked out or run.

Files without a patch. GitHub gives no `patch` for binary files, empty or mode-only files, and
patches too large to show (over 3000 lines or 100 KB). A file without a patch and without line
counts is a binary (or empty) file: it is flagged binary, so it is listed and never routed to a
reviewer, as `reviewbot review` does locally. A file whose patch GitHub omitted for size is rebuilt
from its two versions through the contents API when that is cheap (`rebuild_omitted`: a few files,
each small enough); otherwise it is listed, not reviewed, and its workspace patch says why.

The builders here are pure; `fetch_*` take the PyGithub edge (gh.PullRequestApi) and only ask it
for data.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reviewbot.change.gitsource import RULE_FILES, RULES_MAX_CHARS, TRUNCATED_NOTE
from reviewbot.change.parse import file_change_from_patch
from reviewbot.config import Config, config_from_files
from reviewbot.domain.change import STATUSES, Change, ChangeMeta, FileChange
from reviewbot.errors import InputError

if TYPE_CHECKING:                   # api.py imports this module's records
    from reviewbot.github.api import PullRequestApi

_KNOWN_STATUSES = STATUSES + ("removed", "changed", "unchanged")     # GitHub's names beside the model's


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    body: str
    author: str
    state: str
    draft: bool
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repository: str | None
    html_url: str = ""


@dataclass(frozen=True)
class ApiFile:
    """One entry of `GET .../pulls/N/files` or of a comparison's `files`."""

    path: str
    status: str
    patch: str | None
    previous_path: str | None = None
    additions: int = 0
    deletions: int = 0


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """`GET .../compare/A...B`: `status` is ahead, behind, diverged or identical."""

    status: str
    commits: tuple[CommitInfo, ...]
    files: tuple[ApiFile, ...]

    @property
    def is_fast_forward(self) -> bool:
        """B only adds commits on top of A, none of them a merge (a merge would bring the base's changes in)."""
        return self.status == "ahead" and all(len(c.parents) <= 1 for c in self.commits)


# --------------------------------------------------------------------------------------------
# pure builders


BINARY_NOTE = "binary file: GitHub shows no diff; listed, not reviewed"
OMITTED_NOTE = "GitHub omitted this file's patch (too large to show); listed, not reviewed"
REBUILT_NOTE = "GitHub omitted this file's patch (too large to show); the diff was rebuilt from its contents"
MAX_REBUILT_FILES = 5                # patch-omitted files rebuilt through the contents API, at most
MAX_REBUILT_LINES = 20_000           # additions + deletions of one such file, at most


def no_patch(f: ApiFile) -> bool:
    """GitHub sent no hunks for a file that has content changes (not a pure rename)."""
    return not f.patch and not (f.status == "renamed" and not f.additions and not f.deletions)


def is_binary(f: ApiFile) -> bool:
    """No patch and no line counts: git counts no lines in a binary file (nor in an empty one)."""
    return no_patch(f) and not f.additions and not f.deletions and f.status != "changed"


def omitted(f: ApiFile) -> bool:
    """GitHub left the patch out for size: there are changed lines, but no hunks."""
    return no_patch(f) and bool(f.additions or f.deletions)


def file_change(f: ApiFile) -> FileChange:
    """A FileChange from GitHub's file entry; a patch that cannot be parsed is kept as a note."""
    status = f.status if f.status in _KNOWN_STATUSES else "modified"
    try:
        fc = file_change_from_patch(f.path, status, f.patch, f.previous_path, f.additions, f.deletions)
    except InputError as e:
        fc = file_change_from_patch(f.path, status, None, f.previous_path, f.additions, f.deletions)
        return replace(fc, note=f"patch not reviewable: {e}")
    if is_binary(f):
        return replace(fc, is_binary=True, note=BINARY_NOTE)
    if omitted(f):
        return replace(fc, is_binary=True, note=OMITTED_NOTE,
                       patch=fc.patch + f"# {OMITTED_NOTE}\n")
    return fc


def rebuilt_patch(old: str, new: str) -> str | None:
    """GitHub-style hunks (from the first `@@`, no header) between two texts; None when equal."""
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), n=3))
    if not lines:
        return None
    out = []
    for line in lines[2:]:                                   # drop the ---/+++ header
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out).rstrip("\n")


def rebuild_omitted(f: ApiFile, old: str | None, new: str | None) -> ApiFile | None:
    """The file with the patch GitHub omitted, rebuilt from its base and head texts (None: cannot)."""
    if new is None and f.status != "removed" or old is None and f.status not in ("added",):
        return None
    patch = rebuilt_patch(old or "", new or "")
    return replace(f, patch=patch) if patch else None


def fetch_omitted(api: PullRequestApi, files: tuple[ApiFile, ...], base_sha: str,
                  head_sha: str) -> tuple[tuple[ApiFile, ...], frozenset[str]]:
    """`files` with the patches GitHub omitted for size rebuilt through the contents API, for the first
    MAX_REBUILT_FILES files small enough (two reads each at most). Returns (files, rebuilt paths)."""
    out: list[ApiFile] = []
    rebuilt: set[str] = set()
    for f in files:
        if omitted(f) and len(rebuilt) < MAX_REBUILT_FILES and f.additions + f.deletions <= MAX_REBUILT_LINES:
            old = None if f.status == "added" else api.read_text(f.previous_path or f.path, base_sha)
            new = None if f.status == "removed" else api.read_text(f.path, head_sha)
            g = rebuild_omitted(f, old, new)
            if g is not None:
                out.append(g)
                rebuilt.add(f.path)
                continue
        out.append(f)
    return tuple(out), frozenset(rebuilt)


def meta(pull: PullInfo, repository: str, commits: tuple[CommitInfo, ...]) -> ChangeMeta:
    return ChangeMeta(title=pull.title, description=pull.body, author=pull.author, base_ref=pull.base_ref,
                      head_ref=pull.head_ref, base_sha=pull.base_sha, head_sha=pull.head_sha,
                      commits=tuple(c.subject for c in commits), repository=repository, number=pull.number)


def pull_change(pull: PullInfo, repository: str, files: tuple[ApiFile, ...], commits: tuple[CommitInfo, ...],
                rules: tuple[tuple[str, str], ...] = (), prior: tuple[str, ...] = (),
                rebuilt: frozenset[str] = frozenset()) -> Change:
    """The whole PR: GitHub's three-dot diff, as `reviewbot review` would see the branch. `rebuilt`:
    the files whose omitted patch was rebuilt from their contents (they say so in a note)."""
    fcs = tuple(replace(fc, note=REBUILT_NOTE) if fc.path in rebuilt else fc for fc in map(file_change, files))
    return Change(meta(pull, repository, commits), fcs, rules, prior)


def incremental_change(pull: PullInfo, repository: str, comparison: Comparison, pr_files: tuple[ApiFile, ...],
                       since: str, rules: tuple[tuple[str, str], ...] = (), prior: tuple[str, ...] = ()) -> Change:
    """What the commits since `since` changed, limited to files that are still part of the PR."""
    in_pr = {f.path for f in pr_files}
    files = tuple(file_change(f) for f in comparison.files if f.path in in_pr)
    m = meta(pull, repository, comparison.commits)
    note = (f"Incremental review: only the commits pushed since {since[:12]} are shown; earlier commits of "
            "this pull request were reviewed before (see the prior findings).")
    m = replace(m, description=f"{note}\n\n{pull.body}".strip())
    return Change(m, files, rules, prior)


def rule_paths(root: tuple[tuple[str, str], ...], dot_github: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Which RULE_FILES exist, as (name, type) listings of the base's root and `.github/` give them.

    Exact names first, else the first case-insensitive match in name order (as gitsource does);
    regular files only (a symlink could point anywhere)."""
    found = []
    for rule in RULE_FILES:
        folder, _, name = rule.rpartition("/")
        listing = sorted(dot_github if folder == ".github" else root)
        files = [n for n, kind in listing if kind == "file"]
        match = name if name in files else next((n for n in files if n.lower() == name.lower()), None)
        if match:
            found.append(f"{folder}/{match}" if folder else match)
    return tuple(found)


def capped(text: str) -> str:
    return text if len(text) <= RULES_MAX_CHARS else text[:RULES_MAX_CHARS] + TRUNCATED_NOTE


def config_from_texts(read: Callable[[str], str | None], explicit: str | None) -> Config:
    """The config as the base commit has it (reviewbot.config.config_from_files over the contents API)."""
    return config_from_files(read, explicit, " (base branch)")


# --------------------------------------------------------------------------------------------
# fetching through the edge


def fetch_base(api: PullRequestApi, base_sha: str,
               explicit_config: str | None) -> tuple[Config, tuple[tuple[str, str], ...]]:
    """The config and the review rules as the base commit has them: one listing of the root (and of
    `.github/` when it exists), then one read per file that is there."""
    root = api.list_dir("", base_sha)
    dot_github = api.list_dir(".github", base_sha) if (".github", "dir") in root else ()
    present = {name for name, kind in root if kind == "file"}

    def read_config(path: str) -> str | None:
        return api.read_text(path, base_sha) if explicit_config or path in present else None

    config = config_from_texts(read_config, explicit_config)
    rules = []
    for path in rule_paths(root, dot_github):
        text = api.read_text(path, base_sha)
        if text is not None:
            rules.append((path, capped(text)))
    return config, tuple(rules)


@dataclass(frozen=True)
class PullRead:
    """What a run reads of a pull request before it builds its Change: the files (omitted patches
    rebuilt where cheap), the commits, and the base branch's config and review rules."""

    files: tuple[ApiFile, ...]
    commits: tuple[CommitInfo, ...]
    rebuilt: frozenset[str]             # files whose patch GitHub omitted, rebuilt from their contents
    config: Config
    rules: tuple[tuple[str, str], ...]

    def change(self, pull: PullInfo, repository: str, prior: tuple[str, ...]) -> Change:
        """The whole PR as a Change (pull_change)."""
        return pull_change(pull, repository, self.files, self.commits, self.rules, prior, self.rebuilt)


def read_pull(api: PullRequestApi, pull: PullInfo, explicit_config: str | None) -> PullRead:
    """One read of the pull request's files and commits, and of its base's config and rules; the
    review run and the answer in a thread both start here."""
    files, commits = api.files(), api.commits()
    files, rebuilt = fetch_omitted(api, files, pull.base_sha, pull.head_sha)
    config, rules = fetch_base(api, pull.base_sha, explicit_config)
    return PullRead(files, commits, rebuilt, config, rules)
