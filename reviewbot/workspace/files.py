"""Writing the workspace to disk, and the sandboxed read_file the reviewers use on it.

The workspace is a directory: shared-mr-context.txt plus diff/ with one patch per changed file.
`read_workspace_file` is the only way a model sees the disk: relative paths inside the workspace,
no `..`, no absolute paths, no NUL bytes or encoded tricks, no symlinks that lead out. Its failures
are ToolInputError, which the agent loop returns to the model as an is_error tool result.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from ..errors import InputError, ToolInputError
from .layout import CONTEXT_FILE, Plan, source_path

MAX_READ_CHARS = 200_000


@dataclass(frozen=True)
class Workspace:
    root: Path
    context_text: str
    plan: Plan

    def listing(self) -> list[str]:
        return [CONTEXT_FILE] + [pf.patch_file for pf in self.plan.files]


def write_workspace(root: Path, plan: Plan, context_text: str, resume: bool = False,
                    sources: tuple[tuple[str, str], ...] = ()) -> Workspace:
    """Write the files (byte-exact, "\n" line ends, UTF-8): the context, the patches, and the full
    new versions of the changed files under files/. The directory must be empty or absent, unless
    `resume`: then it must hold exactly these files already (the same change)."""
    root = Path(root)
    files = {root / CONTEXT_FILE: context_text} | {root / pf.patch_file: pf.patch_text for pf in plan.files}
    files |= {root / rel: text for path, text in sources if (rel := source_path(path))}
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
