"""A `git format-patch` series (one mail per commit) read as one change, as `git diff base..head` shows it.

`split_mails` cuts mbox text at git's "From <sha> Mon Sep 17 00:00:00 2001" lines and reads each
mail's headers with the standard library's email parser (folded and RFC 2047-encoded subjects come
back whole); the subject loses its ``[PATCH n/m]`` tag, and the commit message ends where git's
mailinfo ends it (a ``---`` line, or the first ``diff -``/``Index:`` line).

`fold` composes the per-commit file changes into one per file (in git's order, by path):
each file is followed through the series as a sparse sequence of base lines and added lines
(what a hunk's context and removed lines say about the base is remembered), renames carry the
file to its new name, and the net diff of base against the end state is computed by a `Differ`
(three lines of context), so a line deleted by one commit and added back by another is no change,
and the counts are those of the net diff. The default differ is difflib's; the reader of patch
files passes git's own (reviewbot.change.diffsource) when git is installed, so ambiguous hunks
(which of two blank lines was deleted) are placed exactly as `git diff` places them. Base lines
no patch of the series shows are placeholders, which a differ treats as unchanged lines. Pure.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from email.policy import default as default_policy

from reviewbot.change.parse import _c_quote, _label, parse_diff
from reviewbot.domain.change import ADDED, COPIED, DELETED, MODIFIED, RENAMED, FileChange

_MBOX_FROM = re.compile(r"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$", re.M)
_PATCH_TAG = re.compile(r"^\s*(?:\[[^\]]*\bPATCH\b[^\]]*\]\s*)+", re.I)
_MESSAGE_END = re.compile(r"^(?:---\s*$|diff -|Index: )")
_UNKNOWN = "\x01reviewbot: base line {} not shown in the series\x01"
# One line of a file being folded: ("b", base line number) or ("n", new text).
_Item = tuple[str, int | str]


def _base_line(item: _Item) -> int | None:
    """The base line number of a ("b", n) item; None for a new line."""
    return item[1] if item[0] == "b" and isinstance(item[1], int) else None
# (old lines, new lines) -> the hunks of their diff, each "@@ ... @@...\n" and its lines
Differ = Callable[[list[str], list[str]], list[str]]


@dataclass(frozen=True)
class Mail:
    subject: str
    message: str            # the commit message's body (after the subject)
    files: tuple[FileChange, ...]


def strip_patch_tag(subject: str) -> str:
    return _PATCH_TAG.sub("", subject).strip()


def is_series(text: str) -> bool:
    return len(_MBOX_FROM.findall(text)) >= 2


def split_mails(text: str) -> list[Mail]:
    """The mails of a format-patch series, each with its subject, message and parsed files."""
    starts = [m.start() for m in _MBOX_FROM.finditer(text)] or [0]
    chunks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    return [_mail(chunk) for chunk in chunks]


def _mail(chunk: str) -> Mail:
    head, _, rest = chunk.partition("\n\n")
    lines = head.split("\n")
    if lines and _MBOX_FROM.match(lines[0]):
        lines = lines[1:]
    headers = HeaderParser(policy=default_policy).parsestr("\n".join(lines) + "\n\n")
    subject = strip_patch_tag(" ".join(str(headers.get("Subject", "")).split()))
    message = []
    for line in rest.split("\n"):
        if _MESSAGE_END.match(line):
            break
        message.append(line)
    files = parse_diff(rest) if ("\n@@ " in rest or "diff --git " in rest or "\n--- " in rest) else ()
    return Mail(subject, "\n".join(message).strip(), files)


# --------------------------------------------------------------------------------------------
# folding


@dataclass
class _Track:
    """One file followed through the series."""

    first_path: str
    path: str
    existed: bool                 # the file was in the base
    exists: bool
    items: list[_Item] = field(default_factory=list)     # ("b", base line no) or ("n", text)
    next_base: int = 1            # first base line not in items (the unshown tail follows items)
    tail: bool = True             # whether base lines follow items (no: an added or deleted file)
    base: dict[int, str] = field(default_factory=dict)      # base line no -> text
    old_mode: str | None = None
    new_mode: str | None = None
    binary: bool = False
    copied: bool = False          # a copy of first_path (which stays), not a rename

    def _at(self, i: int) -> _Item | None:
        while len(self.items) <= i and self.tail:
            self.items.append(("b", self.next_base))
            self.next_base += 1
        return self.items[i] if i < len(self.items) else None

    def apply(self, f: FileChange) -> None:
        self.binary = self.binary or f.is_binary
        self.old_mode = self.old_mode or f.old_mode
        self.new_mode = f.new_mode or self.new_mode
        if f.status == ADDED:
            self.exists, self.items, self.tail = True, [], False
        out, pos = [], 0
        for h in f.hunks:
            start = h.old_start - 1 if h.old_len else h.old_start
            while pos < start:
                item = self._at(pos)
                if item is None:
                    break
                out.append(item)
                pos += 1
            for ln in h.iter_lines():
                if ln.kind == "+":
                    out.append(("n", ln.text))
                    continue
                item = self._at(pos)
                pos += 1
                if item is None:
                    continue
                if (n := _base_line(item)) is not None:
                    self.base.setdefault(n, ln.text)
                if ln.kind == " ":
                    out.append(item)
        rest = self.items[pos:] if pos < len(self.items) else []
        self.items = out + rest
        if f.status == DELETED:
            self.exists, self.tail = False, False
            for item in self.items:
                if (n := _base_line(item)) is not None:
                    self.base.setdefault(n, "")
            self.items = []

    def _text(self, item: _Item) -> str:
        n = _base_line(item)
        return str(item[1]) if n is None else self.base.get(n, _UNKNOWN.format(n))

    def net(self, differ: Differ) -> FileChange | None:
        if not self.existed and not self.exists:
            return None
        last = max((n for i in self.items if (n := _base_line(i)) is not None), default=0)
        last = max([last, self.next_base - 1, *self.base])
        a = [self.base.get(n, _UNKNOWN.format(n)) for n in range(1, last + 1)] if self.existed else []
        b = [self._text(i) for i in self.items] if self.exists else []
        if self.exists and self.existed:
            b += [self.base.get(n, _UNKNOWN.format(n)) for n in range(self.next_base, last + 1)]
        status = (ADDED if not self.existed else DELETED if not self.exists else
                  COPIED if self.copied else RENAMED if self.path != self.first_path else MODIFIED)
        hunks = differ(a, b) if a != b else []
        if status == MODIFIED and not hunks and self.old_mode == self.new_mode and not self.binary:
            return None
        return parse_diff(_patch_text(self, status, hunks))[0]


def difflib_hunks(a: list[str], b: list[str]) -> list[str]:
    out = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(3):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        old = f"{i1 + 1 if i2 > i1 else i1}" + ("" if i2 - i1 == 1 else f",{i2 - i1}")
        new = f"{j1 + 1 if j2 > j1 else j1}" + ("" if j2 - j1 == 1 else f",{j2 - j1}")
        lines = [f"@@ -{old} +{new} @@"]
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                lines += [" " + t for t in a[x1:x2]]
                continue
            lines += ["-" + t for t in a[x1:x2]]
            lines += ["+" + t for t in b[y1:y2]]
        out.append("\n".join(lines) + "\n")
    return out


def _patch_text(t: _Track, status: str, hunks: list[str]) -> str:
    old, new = t.first_path, t.path
    lines = [f"diff --git {_c_quote('a/' + old)} {_c_quote('b/' + new)}"]
    if status == ADDED:
        lines.append(f"new file mode {t.new_mode or '100644'}")
    elif status == DELETED:
        lines.append(f"deleted file mode {t.old_mode or '100644'}")
    elif t.old_mode and t.new_mode and t.old_mode != t.new_mode:
        lines += [f"old mode {t.old_mode}", f"new mode {t.new_mode}"]
    if status in (RENAMED, COPIED):
        word = "rename" if status == RENAMED else "copy"
        lines += [f"{word} from {_c_quote(old)}", f"{word} to {_c_quote(new)}"]
    if t.binary and not hunks:
        lines.append(f"Binary files {'/dev/null' if status == ADDED else _c_quote('a/' + old)} and "
                     f"{'/dev/null' if status == DELETED else _c_quote('b/' + new)} differ")
    elif hunks:
        lines.append("--- " + ("/dev/null" if status == ADDED else _label("a/", old)))
        lines.append("+++ " + ("/dev/null" if status == DELETED else _label("b/", new)))
    return "\n".join(lines) + "\n" + "".join(hunks)


def fold(commits: list[tuple[FileChange, ...]], differ: Differ = difflib_hunks) -> tuple[FileChange, ...]:
    """One FileChange per file for a series of per-commit file changes (oldest first)."""
    tracks: dict[str, _Track] = {}
    order: list[_Track] = []
    for files in commits:
        for f in files:
            old = f.old_path if f.status in (RENAMED, COPIED) and f.old_path else f.path
            if f.status == COPIED:            # a file of its own, based on its source; the source stays
                t = _Track(old, f.path, existed=True, exists=True, copied=True)
                order.append(t)
                tracks[f.path] = t
                t.apply(f)
                continue
            found = tracks.get(old)
            if found is None:
                found = _Track(old, old, existed=f.status != ADDED, exists=True, tail=f.status != ADDED)
                order.append(found)
                tracks[old] = found
            t = found
            t.apply(f)
            if f.status == RENAMED:
                del tracks[old]
                t.path = f.path
                tracks[f.path] = t
    folded = [fc for fc in (t.net(differ) for t in order) if fc is not None]
    return tuple(sorted(folded, key=lambda fc: fc.path.encode("utf-8", "surrogateescape")))   # git's order
