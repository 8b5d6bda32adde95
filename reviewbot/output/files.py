"""Reviews written to files: the --out directory of the bulk runs (`reviewbot bulk`, local ranges or
GitHub pull requests), each review rendered in one format under the format's extension.

One place for the directory check (before anything is paid for) and the write, so both runs say the
same one-line error (InputError, exit 3) when the disk refuses.
"""
from __future__ import annotations

from pathlib import Path

from reviewbot.domain.result import ReviewResult
from reviewbot.errors import InputError
from reviewbot.output.render import render

EXTENSIONS = {"json": "json", "markdown": "md", "sarif": "sarif"}


def out_dir(path: Path) -> None:
    """Create the output directory (and its parents), or InputError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output directory {path}: {e.strerror or e}") from None


def write_review(result: ReviewResult, fmt: str, directory: Path, stem: str) -> Path:
    """`result` rendered in `fmt` as directory/stem.<extension>; the path, or InputError."""
    path = directory / f"{stem}.{EXTENSIONS[fmt]}"
    try:
        path.write_text(render(result, fmt))
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    return path
