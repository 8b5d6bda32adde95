"""A change read from a patch file or standard input (`reviewbot review --diff FILE`).

For diffs that do not come from a local git repository: `git format-patch` output (one patch or a
series), `hg diff`, `svn diff`, a patch attached to a bug. Metadata is what the file says: its
name, and for mail-style patches the subject (without its ``[PATCH n/m]`` tag, folded lines
joined) and the commit messages. A series of several commits is one change: its files are folded
(reviewbot.change.series), so files, lines and counts are those of ``git diff base..head``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from reviewbot.change.parse import parse_diff
from reviewbot.change.series import Differ, difflib_hunks, fold, is_series, split_mails
from reviewbot.domain.change import Change, ChangeMeta
from reviewbot.errors import InputError

# git's defaults, spelled out so that no user or system setting changes them
_GIT_DIFF = ("diff", "--no-index", "--no-color", "--no-ext-diff", "--text", "-U3", "--diff-algorithm=myers",
             "--indent-heuristic")
_HEAD_SCAN = 1 << 16          # leading whitespace looked at before the whole text is
_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git_hunks(a: list[str], b: list[str]) -> list[str]:
    """The hunks of `git diff` between two line lists (git's own placement of ambiguous changes)."""
    git = shutil.which("git")
    if git is None:
        return difflib_hunks(a, b)
    with tempfile.TemporaryDirectory(prefix="reviewbot-fold-") as tmp:
        old, new = Path(tmp) / "old", Path(tmp) / "new"
        old.write_bytes(("".join(x + "\n" for x in a)).encode("utf-8", "surrogateescape"))
        new.write_bytes(("".join(x + "\n" for x in b)).encode("utf-8", "surrogateescape"))
        run = subprocess.run([git, *_GIT_DIFF, "old", "new"], cwd=tmp, capture_output=True, check=False,
                             env={**os.environ, **_GIT_ENV})
    if run.returncode not in (0, 1):
        return difflib_hunks(a, b)
    text = run.stdout.decode("utf-8", "surrogateescape")
    body = text[text.find("\n@@ ") + 1:] if "\n@@ " in text else ""
    hunks: list[str] = []
    current: list[str] = []
    for line in body.split("\n")[:-1]:
        if line.startswith("@@ ") and current:
            hunks.append("\n".join(current) + "\n")
            current = []
        current.append(line)
    if current:
        hunks.append("\n".join(current) + "\n")
    return hunks


def read_diff_file(path: str) -> Change:
    """`path` ("-" for standard input) parsed into a Change; one-line InputError when unreadable."""
    if path != "-" and Path(path).is_dir():
        raise InputError(f"--diff {path}: is a directory, not a patch file")
    name = "stdin" if path == "-" else Path(path).name
    return change_from_text(_read_text(path), name)


def _read_text(path: str) -> str:
    """The patch as text (its bytes are not kept once decoded)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read diff {path}: {e.strerror}") from None
    return data.decode("utf-8", errors="replace")


def change_from_text(text: str, name: str, differ: Differ = git_hunks) -> Change:
    """The Change a patch text describes; `name` stands for the source (file name or "stdin")."""
    prefix = text[:_HEAD_SCAN]
    first = len(prefix) - len(prefix.lstrip()) if prefix.strip() else len(text) - len(text.lstrip())
    head = text[first:first + 4000]             # text.lstrip()[:4000], without a copy of the whole text
    mail_like = head.startswith("From ") or any(line.startswith("Subject:") for line in head.splitlines()[:40])
    if not mail_like:
        files = parse_diff(text)
        return Change(ChangeMeta(title=name, base_ref="(diff)", head_ref=name, repository=name), files)
    mails = split_mails(text)
    with_files = [m for m in mails if m.files]
    if len(with_files) > 1 or is_series(text):
        files = fold([m.files for m in with_files], differ)
        history = tuple((m.subject, m.files) for m in with_files)
    else:
        files = with_files[0].files if with_files else parse_diff(text)
        history = ()
    cover = mails[0] if mails and not mails[0].files and len(mails) > 1 else None
    title = next((m.subject for m in mails if m.subject), "") or name
    if cover is not None:
        description = cover.message
    elif len(with_files) == 1:
        description = with_files[0].message
    else:
        description = "\n\n".join(f"{m.subject}\n\n{m.message}".strip() for m in with_files)
    commits = tuple(m.subject for m in with_files)
    meta = ChangeMeta(title=title, description=description, base_ref="(diff)", head_ref=name, repository=name,
                      commits=commits)
    return Change(meta, files, history=history)
