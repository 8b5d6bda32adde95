"""A change read from a patch file or standard input (`reviewbot review --diff FILE`).

For diffs that do not come from a local git repository: `git format-patch` output, `hg diff`,
`svn diff`, a patch attached to a bug. Metadata is what the file says: its name, and the subject
of a mail-style patch when there is one.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .model import Change, ChangeMeta
from .parse import parse_diff


def read_diff_file(path: str) -> Change:
    """`path` ("-" for standard input) parsed into a Change; one-line InputError when unreadable."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read diff {path}: {e.strerror}") from None
    text = data.decode("utf-8", errors="replace")
    files = parse_diff(text)
    title = next((line[len("Subject:"):].strip().removeprefix("[PATCH]").strip()
                  for line in text.splitlines()[:40] if line.startswith("Subject:")), "")
    name = "stdin" if path == "-" else Path(path).name
    return Change(ChangeMeta(title=title or name, base_ref="(diff)", head_ref=name, repository=name), files)
