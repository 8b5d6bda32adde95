"""The review plan and the workspace layout, computed before anything is written.

Pure functions of the change: which patch file name each changed file gets, what kind of file it
is, which specialists look at it, and the text of shared-mr-context.txt. The same change always
gives the same plan and the same bytes, which is what makes the shared context cacheable.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from reviewbot.domain.change import Change, FileChange
from reviewbot.domain.kinds import file_kind
from reviewbot.domain.specialists import BINARY, GENERATED, LOCKFILE, Specialist
from reviewbot.output.safety import fence
from reviewbot.templates import render
from reviewbot.workspace.routing import Tier, choose_tier, select

CONTEXT_FILE = "shared-mr-context.txt"
PRELOADED_FILE = "preloaded-patches.txt"     # the pre-read patches, one file: one read in the prefix
DELETED_HEAD_LINES = 5                       # a deleted file is pre-read as its path, size and first lines
DIFF_DIR = "diff"
SOURCES_DIR = "files"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def source_path(path: str) -> str | None:
    """Where the full new version of `path` goes in the workspace, or None for a path that could
    leave it (absolute, `..`, empty parts)."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or any(p in ("..", ".", "") for p in parts) or "\x00" in path:
        return None
    return f"{SOURCES_DIR}/{path}"


def patch_name(index: int, path: str) -> str:
    """`diff/NNN-<path with / as __ and anything unusual as _>.patch`: unique by index, safe for any path."""
    safe = _UNSAFE.sub("_", path.replace("/", "__")).strip("._") or "file"
    if len(safe) > 80:
        safe = safe[:40] + "_" + safe[-39:]
    return f"{DIFF_DIR}/{index:03d}-{safe}.patch"


@dataclass(frozen=True)
class PlannedFile:
    file: FileChange
    patch_file: str
    kind: str
    reviewers: tuple[str, ...]
    patch_text: str              # what the workspace writes (may be truncated, with a note)
    preloaded: bool = False      # pre-read into the shared prefix (within the inline budget)
    excluded: bool = False       # left out by the configuration's include/exclude globs


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    specialists: tuple[Specialist, ...]      # those that run: at least one file assigned
    tier: Tier = Tier("full", None, "all specialists requested")
    applicable: tuple[Specialist, ...] = ()  # had files of their kinds (before the tier's cap)
    over_limit: int = 0                      # reviewable files left out: the change has too many

    def assigned(self, name: str) -> tuple[PlannedFile, ...]:
        """The files a specialist reviews, most added lines first (new code is where findings live)."""
        mine = [pf for pf in self.files if name in pf.reviewers]
        return tuple(sorted(mine, key=lambda pf: -pf.file.additions))


def _patch_text(f: FileChange, limit: int) -> str:
    text = f.patch if f.patch.endswith("\n") or not f.patch else f.patch + "\n"
    if f.is_binary and not f.hunks:
        text += "# binary file: no textual diff to review\n"
    if len(text) > limit:
        cut = text.rfind("\n", 0, limit) + 1 or limit
        text = text[:cut] + f"# [reviewbot] patch truncated at {cut} of {len(text)} characters\n"
    return text


def preload_text(pf: PlannedFile) -> str:
    """What the prefix pre-reads of a planned file: its patch, or for a deleted file a summary (path,
    size and first lines; the whole body stays in its patch file, for read_file). Reviewers judge what
    the change leaves, and a deleted body is the largest part of a patch that says the least."""
    f = pf.file
    if f.status != "deleted" or not f.hunks:
        return pf.patch_text
    first: list[str] = []
    count = size = 0
    for ln in (ln for h in f.hunks for ln in h.iter_lines() if ln.kind == "-"):     # one line at a time
        if count < DELETED_HEAD_LINES:
            first.append(ln.text)
        count += 1
        size += len(ln.text.encode("utf-8", "surrogateescape")) + 1
    head = "".join(f"-{t}\n" for t in first)
    rest = count - min(count, DELETED_HEAD_LINES)
    more = f"# [reviewbot] {rest} more deleted line(s): read_file {pf.patch_file} for the whole body\n" if rest else ""
    return f"# deleted file {f.path}: {count} line(s), {size} bytes; its first lines:\n{head}{more}"


def preloaded_bundle(plan: Plan) -> str:
    """The text of preloaded-patches.txt: every pre-read patch under a one-line header naming its patch
    file, in table order ("" when nothing is pre-read). One read carries them all, so the prefix does not
    frame each patch in its own tool_use and tool_result."""
    return "".join(f"===== {pf.patch_file} ({pf.file.path}) =====\n{preload_text(pf)}"
                   for pf in plan.files if pf.preloaded)


MAX_TABLE_ROWS = 500          # the context lists at most this many files; the rest are counted


def build_plan(change: Change, specialists: tuple[Specialist, ...], max_patch_chars: int,
               preload_chars: int, tiered: bool = True, max_files: int = 300,
               excluded: Callable[[str], bool] = lambda path: False,
               summarised: tuple[str, ...] = (LOCKFILE, GENERATED)) -> Plan:
    """Name, classify and route every file, pick the tier's specialists, and preload the reviewed
    patches, in order, while they fit in `preload_chars` (the rest stay on disk for read_file).
    Only the first `max_files` reviewable files are routed to specialists; the rest are listed, as
    are the files the configuration excludes."""
    kinds = [file_kind(f.path, f.is_binary) for f in change.files]
    routed, count = [], 0
    for f, k in zip(change.files, kinds, strict=True):
        skip = k == BINARY or k in summarised or excluded(f.path)
        names = () if skip else tuple(s.name for s in specialists if k in s.file_kinds)
        count += bool(names)
        routed.append(names if count <= max_files else ())
    applicable = tuple(s for s in specialists if any(s.name in r for r in routed))
    if tiered:
        tier = choose_tier([f.path for f in change.files], set(kinds), change.additions + change.deletions)
        running = select(applicable, tier, set(kinds), bool(change.review_rules))
    else:
        tier, running = Tier("full", None, "tiered routing is off"), applicable
    running_names = {s.name for s in running}
    files, budget = [], preload_chars
    for i, (f, kind, routed_to) in enumerate(zip(change.files, kinds, routed, strict=True), start=1):
        reviewers = tuple(r for r in routed_to if r in running_names)
        pf = PlannedFile(f, patch_name(i, f.path), kind, reviewers, _patch_text(f, max_patch_chars),
                         excluded=excluded(f.path))
        size = len(preload_text(pf))
        preload = bool(reviewers) and size <= budget
        budget -= size if preload else 0
        files.append(replace(pf, preloaded=preload))
    return Plan(tuple(files), running, tier, applicable, max(0, count - max_files))


def render_context(change: Change, plan: Plan, all_specialists: tuple[Specialist, ...], related: bool = False,
                   repository: bool = False) -> str:
    """The text of shared-mr-context.txt (deterministic; untrusted parts fenced)."""
    meta = change.meta
    idle = [s.name for s in all_specialists if s not in plan.applicable]
    capped = [s.name for s in plan.applicable if s not in plan.specialists]
    return render(
        "shared_context.txt.j2",
        meta=meta,
        title=fence("pr-title", meta.title),
        description=fence("pr-description", meta.description) if meta.description.strip() else "",
        commits=fence("commit-subjects", "\n".join(meta.commits)) if meta.commits else "",
        files=plan.files[:MAX_TABLE_ROWS], unlisted=len(plan.files) - min(len(plan.files), MAX_TABLE_ROWS),
        total_files=len(plan.files), over_limit=plan.over_limit,
        sources=sum(1 for path, _ in change.sources if source_path(path)),
        additions=change.additions, deletions=change.deletions,
        idle=idle, capped=capped, tier=plan.tier, related=related, repository=repository,
        rules=[(name, fence(name, text)) for name, text in change.review_rules],
        prior=fence("prior-findings", "\n".join(f"- {line}" for line in change.prior_findings))
        if change.prior_findings else "",
    )
