"""Writing the workspace to disk, and the sandboxed read_file the reviewers use on it.

The workspace is a directory: shared-mr-context.txt plus diff/ with one patch per changed file.
`read_workspace_file` is the only way a model sees the disk: relative paths inside the workspace,
no `..`, no absolute paths, no NUL bytes or encoded tricks, no symlinks that lead out. Its failures
are ToolInputError, which the agent loop returns to the model as an is_error tool result.

`read_path` extends the same sandbox to the repository (reviewbot.repo.tree): a path that is not a
workspace file is a file of the repository at head (`head/<path>` says so explicitly), and
`base/<path>` is the file at the base. Both are read from git objects, through the same path
checks, with a symlink that leads out of the repository refused like one that leads out of the
workspace. A directory gives its listing.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from reviewbot.errors import InputError, ToolInputError
from reviewbot.repo.related import Related
from reviewbot.repo.tree import Repository
from reviewbot.workspace.layout import CONTEXT_FILE, Plan, source_path

MAX_READ_CHARS = 200_000


@dataclass(frozen=True)
class Workspace:
    root: Path
    context_text: str
    plan: Plan
    related: Related | None = None          # the related-code section (reviewbot.repo.related)
    repo: Repository | None = None          # the repository read_file and search_code reach


def write_workspace(root: Path, plan: Plan, context_text: str, resume: bool = False,
                    sources: tuple[tuple[str, str], ...] = (), extra: tuple[tuple[str, str], ...] = ()) -> Workspace:
    """Write the files (byte-exact, "\n" line ends, UTF-8): the context, the patches, and the full
    new versions of the changed files under files/. The directory must be empty or absent, unless
    `resume`: then it must hold exactly these files already (the same change)."""
    root = Path(root)
    files = {root / CONTEXT_FILE: context_text} | {root / pf.patch_file: pf.patch_text for pf in plan.files}
    files |= {root / rel: text for path, text in sources if (rel := source_path(path))}
    files |= {root / name: text for name, text in extra}
    if resume:
        if not (root / CONTEXT_FILE).is_file():
            raise InputError(f"cannot resume: no kept workspace in {root} (run with --keep-workspace first)")
        for path, text in files.items():
            if not path.is_file() or path.read_bytes() != text.encode("utf-8", "surrogateescape"):
                raise InputError(f"cannot resume: {root} was made for a different change ({path.name} differs)")
        return Workspace(root, context_text, plan)
    if root.exists() and not root.is_dir():
        raise InputError(f"workspace {root}: is a file, not a directory")
    if root.exists() and any(root.iterdir()):
        raise InputError(f"workspace directory is not empty: {root}")
    try:
        (root / "diff").mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
    except OSError as e:
        raise InputError(f"cannot write workspace {root}: {e.strerror}") from None
    return Workspace(root, context_text, plan)


def _clean(path: str) -> PurePosixPath:
    if not isinstance(path, str) or not path.strip():
        raise ToolInputError("read_file needs a non-empty 'path' relative to the workspace")
    if "\x00" in path:
        raise ToolInputError("path contains a NUL byte")
    decoded = unquote(unquote(path))
    if decoded != path and ("/" in decoded.replace(path, "") or ".." in decoded):
        raise ToolInputError(f"path {path!r} is URL-encoded; give the plain workspace path")
    norm = unicodedata.normalize("NFKC", decoded).replace("\\", "/")
    p = PurePosixPath(norm)
    if p.is_absolute() or norm.startswith("~") or (len(norm) > 1 and norm[1] == ":"):
        raise ToolInputError(f"absolute paths are not allowed: {path!r}; paths are relative to the workspace")
    if ".." in p.parts:
        raise ToolInputError(f"'..' is not allowed in paths: {path!r}")
    return PurePosixPath(*[part for part in p.parts if part != "."]) if p.parts else p


def read_workspace_file(root: Path, path: str) -> str:
    rel = _clean(path)
    if not rel.parts:
        raise ToolInputError("read_file needs a file path, not the workspace root")
    base = Path(os.path.realpath(root))
    target = base.joinpath(*rel.parts)
    real = Path(os.path.realpath(target))
    if real != base and base not in real.parents:
        raise ToolInputError(f"{path!r} leads outside the workspace")
    if not real.is_file():
        raise ToolInputError(f"no such file in the workspace: {path!r}. Files are {CONTEXT_FILE}, the "
                             f"diff/*.patch files listed in it and, where listed, files/<path> (full new versions)")
    text = real.read_bytes().decode("utf-8", "replace")
    if len(text) > MAX_READ_CHARS:
        text = text[:MAX_READ_CHARS] + f"\n[reviewbot] file truncated at {MAX_READ_CHARS} characters\n"
    return text


HEAD_PREFIX, BASE_PREFIX = "head/", "base/"
MAX_REPO_READ_CHARS = 40_000        # one read of a repository file; the rest with start_line
MAX_LISTING = 300


def read_path(root: Path, repo: Repository | None, path: str, start_line: int = 1) -> str:
    """What read_file returns for `path`: a workspace file, else a repository file at head
    (`head/<path>` or a bare path) or at the base (`base/<path>`), from `start_line` on."""
    rel = _clean(path)
    if not rel.parts:
        raise ToolInputError("read_file needs a file path, not the workspace root")
    text = rel.as_posix()
    explicit = text.startswith((HEAD_PREFIX, BASE_PREFIX)) or text in ("head", "base")
    if not explicit:
        try:
            return _from_line(read_workspace_file(root, path), start_line, MAX_READ_CHARS)
        except ToolInputError:
            if repo is None:
                raise
    if repo is None:
        raise ToolInputError(f"no repository is available in this review: {path!r} cannot be read")
    side, _, inner = text.partition("/") if explicit else ("head", "", text)
    tree = repo.base if side == "base" else repo.head
    if tree is None:
        raise ToolInputError("the base commit is not available in this review")
    data = tree.read(inner)
    if data is None:
        listing = tree.listing(inner)
        if inner and not listing:
            raise ToolInputError(f"no such file: {path!r} is neither a workspace file ({CONTEXT_FILE}, diff/..., "
                                 f"related-code.txt) nor a file of the repository at {side}; search_code finds files")
        shown = "\n".join(listing[:MAX_LISTING])
        more = f"\n[... {len(listing) - MAX_LISTING} more]" if len(listing) > MAX_LISTING else ""
        return f"[directory {inner or '/'} at {side}: {len(listing)} entries]\n{shown}{more}\n"
    if b"\x00" in data[:8000]:
        raise ToolInputError(f"{path!r} is a binary file ({len(data)} bytes): not shown")
    return _from_line(data.decode("utf-8", "replace"), start_line, MAX_REPO_READ_CHARS)


def _from_line(text: str, start_line: int, limit: int) -> str:
    if start_line > 1:
        lines = text.splitlines(keepends=True)
        if start_line > len(lines):
            raise ToolInputError(f"start_line {start_line} is past the end of the file ({len(lines)} lines)")
        text = f"[from line {start_line} of {len(lines)}]\n" + "".join(lines[start_line - 1:])
    if len(text) > limit:
        cut = text.rfind("\n", 0, limit) + 1 or limit
        shown = text[:cut].count("\n")
        at_line = start_line + shown - 1 if start_line > 1 else shown
        text = text[:cut] + (f"[reviewbot] cut at {limit} characters (line {at_line}); "
                             "read further with start_line\n")
    return text
