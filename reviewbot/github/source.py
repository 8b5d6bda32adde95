"""A GitHub pull request as a `Change`: the same records `reviewbot review` builds from git.

GitHub gives each file's hunks (`patch`) without a header; `file_change_from_patch` turns them into
the FileChange the workspace, the reviewers and the placement of findings all use, so a review of a
PR and of the same branch checked out locally see the same files.

Trust: the PR's head is the author's. Review rules (REVIEW.md, AGENTS.md, CLAUDE.md, CONTRIBUTING.md)
and the bot's own configuration (`.reviewbot.toml`, `[tool.reviewbot]`) are read from the *base*
commit through the contents API, never from the head, so a PR cannot rewrite the rules it is judged
by or switch reviewers off. Nothing of the PR is checked out or run.

The builders here are pure; `fetch_*` take the PyGithub edge (gh.PullRequestApi) and only ask it
for data.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..change.gitsource import RULE_FILES, RULES_MAX_CHARS, TRUNCATED_NOTE
from ..change.model import STATUSES, Change, ChangeMeta, FileChange
from ..change.parse import file_change_from_patch
from ..config import Config, config_from_files
from ..errors import InputError

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


def file_change(f: ApiFile) -> FileChange:
    """A FileChange from GitHub's file entry; a patch that cannot be parsed is kept as a note."""
    status = f.status if f.status in _KNOWN_STATUSES else "modified"
    try:
        return file_change_from_patch(f.path, status, f.patch, f.previous_path, f.additions, f.deletions)
    except InputError as e:
        fc = file_change_from_patch(f.path, status, None, f.previous_path, f.additions, f.deletions)
        return replace(fc, note=f"patch not reviewable: {e}")


def meta(pull: PullInfo, repository: str, commits: tuple[CommitInfo, ...]) -> ChangeMeta:
    return ChangeMeta(title=pull.title, description=pull.body, author=pull.author, base_ref=pull.base_ref,
                      head_ref=pull.head_ref, base_sha=pull.base_sha, head_sha=pull.head_sha,
                      commits=tuple(c.subject for c in commits), repository=repository, number=pull.number)


def pull_change(pull: PullInfo, repository: str, files: tuple[ApiFile, ...], commits: tuple[CommitInfo, ...],
                rules: tuple[tuple[str, str], ...] = (), prior: tuple[str, ...] = ()) -> Change:
    """The whole PR: GitHub's three-dot diff, as `reviewbot review` would see the branch."""
    return Change(meta(pull, repository, commits), tuple(file_change(f) for f in files), rules, prior)


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


def fetch_base(api, base_sha: str, explicit_config: str | None) -> tuple[Config, tuple[tuple[str, str], ...]]:
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
