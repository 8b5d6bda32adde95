"""Unified diff text -> FileChange records (pure: no I/O, no git).

This module owns the translation from diff *text* to the typed records of ``model.py``. Both sources
meet here: the local source hands it ``git diff`` output, the GitHub source hands it the per-file
hunks-only patches of the API (``file_change_from_patch``), so every reviewer downstream sees the
same records and the same git-style patch text whatever the change came from.

The parser reads the text once, one file at a time, with unidiff's rules (file boundaries, hunks,
line numbers, binary markers, git modes; hunk line counts validated against their ``@@`` headers)
but none of its objects: the lines are offsets into the one text, each hunk line is checked and
counted as it is read but not kept, and each file's ``patch`` is one slice of the text, which its
hunks read their ``Line`` records from when asked (reviewbot.domain.change.Hunk). Time and memory are
linear in the diff (a 10 MB diff is not held as a list of line strings or a tree of parser objects).
What unidiff's model lacks is written here too, in small functions:

* git's C-quoted names (``"a/caf\\303\\251.txt"``) and ``a/`` ``b/`` (or custom) prefixes are
  decoded into plain repository paths, never ``/dev/null``;
* the status of a file (unidiff only knows added/removed/modified by heuristics) comes from git's
  extended headers (``new file mode``, ``rename from`` ...), or from ``/dev/null`` and -0,0 / +0,0
  hunks for diffs of other tools (hg, svn, bzr, plain ``diff -u``);
* each file's ``patch`` is its own chunk of the input, cut out by line numbers, so it is byte for
  byte what the source produced (git output joined back gives ``git diff`` again).

Line ends: the input is split on "\\n" only. A "\\r" before a "\\n" is file content (a CRLF file in
a git diff) and stays in ``Line.text`` and in ``patch``; a lone "\\r" never splits a line. Only a
whole document in CRLF (every ``diff``/``@@``/``Index:`` header line ends in "\\r\\n": a diff that
went through a CRLF conversion) has one "\\r" per line end removed first, as transport.

Every parse failure is an ``InputError`` whose message is one line starting "malformed diff:".
"""
from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from reviewbot.domain.change import (
    ADDED,
    COPIED,
    DELETED,
    MODIFIED,
    RENAMED,
    STATUSES,
    FileChange,
    FileStatus,
    Hunk,
)
from reviewbot.errors import DiffParseError, InputError

DEV_NULL = "/dev/null"

# Prefix pairs diff tools put before the old and the new name: git's default, its mnemonic ones
# (index, work tree, commit, object) and ``git diff --no-index``'s.
_PREFIX_PAIRS = (("a/", "b/"), ("i/", "w/"), ("c/", "w/"), ("c/", "i/"), ("o/", "w/"), ("1/", "2/"))

# Lines after ``diff --git`` that belong to a file without hunks (binary, mode-only, pure rename).
_GIT_HEADER_LINE = re.compile(
    r"(old mode|new mode|deleted file mode|new file mode|copy from|copy to|rename from|rename to"
    r"|similarity index|dissimilarity index|index) |Binary files |--- |\+\+\+ ")
# The payload of a ``GIT binary patch``: "literal N" / "delta N" and base85 lines (or blank ones).
_BINARY_PAYLOAD_LINE = re.compile(r"((literal|delta) \d+|[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]*)?\n")
# What ``git format-patch`` puts after the last hunk of a mail ("-- " and the git version).
_MAIL_SIGNATURES = ("-- \n", "--\n")
# Lines whose ending tells a CRLF-converted document from CRLF file content.
_STRUCTURAL_LINE_ANYWHERE = re.compile(r"^(?:diff |@@ -|Index: |=== )[^\n]*", re.M)
_OCTAL_ESCAPE = re.compile(r"[0-3][0-7]{2}")
_C_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, '"': 34, "\\": 92}
_C_ESCAPED = {v: k for k, v in _C_ESCAPES.items()}

# The mode a synthesized header gives an added or deleted file (see _synthesized_header).
_ASSUMED_MODE = "100644"

# The line shapes of unified diffs (unidiff's, whose rules this parser follows).
_RE_SOURCE_FILENAME = re.compile(r'^--- (?P<filename>"?[^\t\n]*"?)(?:\t(?P<timestamp>[^\n]+))?')
_RE_TARGET_FILENAME = re.compile(r'^\+\+\+ (?P<filename>"?[^\t\n]*"?)(?:\t(?P<timestamp>[^\n]+))?')
_RE_DIFF_GIT_HEADER = re.compile(r'^diff --git (?P<source>"?a/[^\t\n]+"?) (?P<target>"?b/[^\t\n]+"?)')
_RE_DIFF_GIT_HEADER_URI_LIKE = re.compile(r"^diff --git (?P<source>.*://[^\t\n]+) (?P<target>.*://[^\t\n]+)")
_RE_DIFF_GIT_HEADER_NO_PREFIX = re.compile(r"^diff --git (?P<source>[^\t\n]+) (?P<target>[^\t\n]+)")
_RE_DIFF_GIT_DELETED_FILE = re.compile(r"^deleted file mode (?P<mode>\d+)$")
_RE_DIFF_GIT_NEW_FILE = re.compile(r"^new file mode (?P<mode>\d+)$")
_RE_DIFF_GIT_OLD_MODE = re.compile(r"^old mode (?P<mode>\d+)$")
_RE_DIFF_GIT_NEW_MODE = re.compile(r"^new mode (?P<mode>\d+)$")
_RE_DIFF_GIT_INDEX = re.compile(r"^index [0-9a-f]+\.\.[0-9a-f]+ (?P<mode>\d+)$")
_RE_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))?\ @@[ ]?(.*)")
_RE_HUNK_EMPTY_BODY_LINE = re.compile(r"^(?P<value>[\r\n]{1,2})")
_RE_BINARY_DIFF = re.compile(
    r"^Binary files? (?P<source_filename>[^\t]+?)(?:\t(?P<source_timestamp>[\s0-9:\+-]+))?"
    r"(?: and (?P<target_filename>[^\t]+?)(?:\t(?P<target_timestamp>[\s0-9:\+-]+))?)? (differ|has changed)")
_NO_NEWLINE = "\\ No newline at end of file"
_BODY_KINDS = ("+", "-", " ", "\\")

# The parser's error messages -> the user's terms (the rest of theirs, if any, is the offending line).
_REASONS = (
    ("Hunk is shorter than expected", "a hunk has fewer lines than its @@ header says"),
    ("Hunk is longer than expected", "a hunk has more lines than its @@ header says"),
    ("Hunk diff line expected:", "a hunk has fewer lines than its @@ header says; it ends at"),
    ("Unexpected hunk found:", "a hunk without a file header before it:"),
    ("Target without source:", "a '+++' line without its '---' line:"),
)

# GitHub API file statuses that are not model statuses.
_API_STATUSES = {"removed": DELETED, "changed": MODIFIED, "unchanged": MODIFIED}


# --------------------------------------------------------------------------------------------
# public API


def parse_diff(text: str) -> tuple[FileChange, ...]:
    """Parse unified diff text (git, hg, svn, bzr, ``diff -u``) into one FileChange per file.

    Empty (or blank) text gives ``()``. Text with no file in it, or with a hunk whose lines do not
    match its ``@@`` header, raises ``InputError("malformed diff: ...")``.
    """
    if not text.strip():
        return ()
    lines = _Lines(_normalize_line_ends(text.removeprefix("\ufeff")))
    try:
        files = list(_iter_files(lines))
    except DiffParseError as err:
        raise InputError(f"malformed diff: {_reason(str(err))} (line {err.line_no})") from None
    if not files:
        raise InputError("malformed diff: no file header ('diff --git' or '---'/'+++') found")
    starts = [_chunk_start(lines, pf) for pf in files]
    limits = starts[1:] + [len(lines)]
    return tuple(_file_change(lines, pf, start, limit) for pf, start, limit in zip(files, starts, limits, strict=True))


def file_change_from_patch(path: str, status: str, patch: str | None, old_path: str | None = None,
                           additions: int | None = None, deletions: int | None = None) -> FileChange:
    """Build a FileChange from a hunks-only patch as the GitHub API gives it.

    ``patch`` starts at the first ``@@`` (no file header, usually no trailing newline) or is
    None/empty (binary files, huge diffs, pure renames). The result's ``patch`` gets a synthesized
    git-style header (``diff --git a/OLD b/NEW``, ``rename from``/``to`` or ``copy from``/``to``
    when so, ``---``/``+++`` when there are hunks), quoted the way git quotes, so it reads like a
    local ``git diff`` and ``parse_diff(result.patch)`` gives the same file back.

    ``status`` is a model status or a GitHub one ("removed", "changed", "unchanged").
    ``additions``/``deletions`` are used only when there is no patch; otherwise the hunks count.
    """
    name = _API_STATUSES.get(status, status)
    if name not in STATUSES:
        raise InputError(f"unknown file status {status!r} for {path}")
    status = FileStatus(name)
    old = old_path if status in (RENAMED, COPIED) and old_path else path
    kept_old_path = old if status in (RENAMED, COPIED) else None
    if not patch:
        return FileChange(path=path, status=status, patch=_synthesized_header(old, path, status, False),
                          old_path=kept_old_path, additions=additions or 0, deletions=deletions or 0,
                          note=_omitted_note(status, additions, deletions))
    if not patch.startswith("@@"):
        raise InputError(f"malformed diff: the patch of {path} does not start with an '@@' hunk header")
    text = _synthesized_header(old, path, status, True) + _terminated(patch)
    parsed = _parse_one(text, path)
    return FileChange(path=path, status=status, patch=parsed.patch, hunks=parsed.hunks,
                      old_path=kept_old_path, additions=parsed.additions, deletions=parsed.deletions)


# --------------------------------------------------------------------------------------------
# text -> lines -> files (one pass, one file at a time)


def _normalize_line_ends(text: str) -> str:
    """Drop one "\\r" per line end if the whole document is CRLF; else keep every "\\r" (content)."""
    structural = [m.group(0) for m in _STRUCTURAL_LINE_ANYWHERE.finditer(text)]
    if structural and all(ln.endswith("\r") for ln in structural):
        return text.replace("\r\n", "\n")
    return text


class _Lines:
    """The lines of a text without a list of strings: one array of start offsets (8 bytes a line).
    A line keeps its "\\n" (the last one may lack it); "\\r" and other separators do not split."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = array("q", [0])
        find, pos = text.find, text.find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        if starts[-1] != len(text):
            starts.append(len(text))
        self.starts = starts
        self.count = len(starts) - 1

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> str:
        return self.text[self.starts[i]:self.starts[i + 1]]

    def joined(self, start: int, end: int) -> str:
        """Lines start..end-1 as one string (one slice of the text)."""
        return self.text[self.starts[start]:self.starts[end]]


@dataclass(frozen=True, slots=True)
class _RawHunk:
    """A hunk as the parser reads it: its header's numbers, and its body as lines first..end-1 of the
    input and its counts (its Hunk, which reads its lines from the patch text, is made with the file)."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str
    first: int
    end: int
    added: int
    removed: int


@dataclass
class _File:
    """One file while it is being parsed (what unidiff's PatchedFile held, hunks as records)."""

    source_file: str | None
    target_file: str | None
    diff_line_no: int                     # 1-based number of the line that started it
    source_mode: str | None = None
    target_mode: str | None = None
    is_binary_file: bool = False
    hunks: list[_RawHunk] = field(default_factory=list)
    last_numbered: int = 0                # 1-based number of its last hunk line (0: no hunk line)


def _iter_files(lines: _Lines) -> Iterator[_File]:
    """The files of the diff, each handed out when its first line is read (later lines only add to
    the newest file, so a file is complete once the next one is handed out).

    The state machine is unidiff's (``PatchSet._parse``: git headers, ``---``/``+++``
    pairs, hunks validated against their ``@@`` counts, binary markers, "\\ No newline" markers),
    with the hunk lines checked and counted as they are read (no record per line).
    """
    current: _File | None = None
    in_info = False                       # unidiff's "patch_info is not None"
    source_file: str | None = None
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        i += 1
        git_header = (_RE_DIFF_GIT_HEADER.match(line) or _RE_DIFF_GIT_HEADER_URI_LIKE.match(line)
                      or _RE_DIFF_GIT_HEADER_NO_PREFIX.match(line))
        if git_header:
            in_info = True
            source_file = git_header.group("source")
            current = _File(source_file, git_header.group("target"), i)
            yield current
            continue
        if m := _RE_DIFF_GIT_NEW_FILE.match(line):
            if current is None or not in_info:
                raise DiffParseError(f"Unexpected new file found: {line}", i)
            current.source_file, current.target_mode = DEV_NULL, m.group("mode")
            continue
        if m := _RE_DIFF_GIT_DELETED_FILE.match(line):
            if current is None or not in_info:
                raise DiffParseError(f"Unexpected deleted file found: {line}", i)
            current.target_file, current.source_mode = DEV_NULL, m.group("mode")
            continue
        if current is not None and in_info:
            if m := _RE_DIFF_GIT_OLD_MODE.match(line):
                current.source_mode = m.group("mode")
                continue
            if m := _RE_DIFF_GIT_NEW_MODE.match(line):
                current.target_mode = m.group("mode")
                continue
            if m := _RE_DIFF_GIT_INDEX.match(line):
                current.source_mode = current.source_mode if current.source_mode is not None else m.group("mode")
                current.target_mode = current.target_mode if current.target_mode is not None else m.group("mode")
                continue
        if m := _RE_SOURCE_FILENAME.match(line):
            source_file = m.group("filename")
            if current is not None and not in_info:
                current = None
            continue
        if m := _RE_TARGET_FILENAME.match(line):
            target_file = m.group("filename")
            if current is not None and current.target_file != target_file:
                raise DiffParseError(f"Target without source: {line}", i)
            if current is None:
                if source_file is None:
                    raise DiffParseError(f"Target without source: {line}", i)
                current = _File(source_file, target_file, i)
                yield current
                in_info = False
                source_file = None
            continue
        if m := _RE_HUNK_HEADER.match(line):
            in_info = False
            if current is None:
                raise DiffParseError(f"Unexpected hunk found: {line}", i)
            i = _parse_hunk(lines, i, m, current)
            continue
        if line.startswith(_NO_NEWLINE):
            if current is None:
                raise DiffParseError(f"Unexpected marker: {line}", i)
            if not current.hunks:
                raise DiffParseError("Unexpected marker: No newline at end of file", i)
            continue                      # outside a hunk: not a line of it
        if line == "\n" and current is not None and current.hunks:
            continue                      # a blank line after a hunk
        if not in_info:
            current = None
            in_info = True
        if m := _RE_BINARY_DIFF.match(line):
            source_file = m.group("source_filename")
            if current is not None:
                current.is_binary_file = True
            else:
                yield _File(source_file, m.group("target_filename") or source_file, i, is_binary_file=True)
            in_info, current = False, None
            continue
        if line == "GIT binary patch\n":
            if current is None:
                raise DiffParseError(f"Unexpected binary patch marker: {line}", i)
            current.is_binary_file = True
            in_info, current = False, None
            continue


def _parse_hunk(lines: _Lines, i: int, header: re.Match[str], f: _File) -> int:
    """Read the hunk whose header is line ``i`` (1-based) into ``f``; the index of the line after it."""
    old_start, old_len, new_start, new_len = (int(header.group(k) or default)
                                              for k, default in ((1, 0), (2, 1), (3, 0), (4, 1)))
    old_no, new_no = old_start, new_start
    old_end, new_end = old_no + old_len, new_no + new_len
    first, n = i, len(lines)
    text, starts = lines.text, lines.starts
    added = removed = 0
    while i < n:
        kind = text[starts[i]:starts[i] + 1]
        i += 1
        if kind not in _BODY_KINDS:
            if not _RE_HUNK_EMPTY_BODY_LINE.match(kind):
                raise DiffParseError(f"Hunk diff line expected: {lines[i - 1]}", i)
            kind = " "
        if kind == "+":
            new_no += 1
            added += 1
        elif kind == "-":
            old_no += 1
            removed += 1
        elif kind == " ":
            old_no += 1
            new_no += 1
        if old_no > old_end or new_no > new_end:
            raise DiffParseError("Hunk is longer than expected", i)
        f.last_numbered = i
        if old_no == old_end and new_no == new_end:
            break
    if old_no < old_end or new_no < new_end:
        raise DiffParseError("Hunk is shorter than expected", i)
    f.hunks.append(_RawHunk(old_start, old_len, new_start, new_len, header.group(5), first, i, added, removed))
    return i


def _reason(message: str) -> str:
    """A parse error's message, on one line and in the user's terms."""
    first = (message.splitlines() or ["unparsable input"])[0].strip()
    for theirs, ours in _REASONS:
        if first.startswith(theirs):
            detail = first[len(theirs):].strip()
            return f"{ours} {detail[:80]!r}" if detail else ours
    return first


def _parse_one(text: str, path: str) -> FileChange:
    try:
        parsed = parse_diff(text)
    except InputError as err:
        raise InputError(f"{err} in the patch of {path}") from err
    if len(parsed) != 1:
        raise InputError(f"malformed diff: the patch of {path} holds {len(parsed)} files")
    return parsed[0]


# --------------------------------------------------------------------------------------------
# one file's chunk of the input


def _chunk_start(lines: _Lines, pf: _File) -> int:
    """0-based index of the file's first line: its ``diff --git``, its ``---`` or its Binary line."""
    i = pf.diff_line_no - 1
    if lines[i].startswith("+++ ") and i > 0 and lines[i - 1].startswith("--- "):
        return i - 1
    return i


def _chunk_end(lines: _Lines, pf: _File, start: int, limit: int) -> int:
    """0-based exclusive end: after the last hunk line (and its "\\ No newline" marker), or after
    the extended header (and binary payload) of a file without hunks; never past ``limit``."""
    if not pf.last_numbered:
        return _header_end(lines, start, limit)
    end = pf.last_numbered
    while end < limit and lines[end].startswith("\\"):
        end += 1
    if end < limit and lines[end][:1] in ("+", "-", " ") and lines[end] not in _MAIL_SIGNATURES:
        # the hunk's counts are met and what follows would be taken for a preamble
        raise InputError(f"malformed diff: a hunk has more lines than its @@ header says (line {end + 1})")
    return end


def _header_end(lines: _Lines, start: int, limit: int) -> int:
    end = start + 1
    in_payload = False
    while end < limit:
        line = lines[end]
        if line == "GIT binary patch\n":
            in_payload = True
        elif not (_GIT_HEADER_LINE.match(line) or (in_payload and _BINARY_PAYLOAD_LINE.fullmatch(line))):
            break
        end += 1
    while end > start + 1 and lines[end - 1] == "\n":  # blank separators are not the file's
        end -= 1
    return end


def _terminated(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


# --------------------------------------------------------------------------------------------
# one file's record


def _file_change(lines: _Lines, pf: _File, start: int, limit: int) -> FileChange:
    end = _chunk_end(lines, pf, start, limit)
    header = []
    for k in range(start, end):
        line = lines[k]
        if line.startswith("@@ "):
            break
        header.append(line)
    old, new, status = _paths_and_status(header or [lines[start]], pf)
    if not new:
        raise InputError(f"malformed diff: a file header without a file name (line {start + 1})")
    patch = _terminated(lines.joined(start, end))
    base = lines.starts[start]
    hunks = tuple(Hunk(h.old_start, h.old_len, h.new_start, h.new_len, h.section, text=patch,
                       start=lines.starts[h.first] - base, end=lines.starts[h.end] - base) for h in pf.hunks)
    return FileChange(
        path=old if status == DELETED else new,
        status=status,
        patch=patch,
        hunks=hunks,
        old_path=old if status in (RENAMED, COPIED) else None,
        is_binary=pf.is_binary_file,
        old_mode=pf.source_mode,
        new_mode=pf.target_mode,
        additions=sum(h.added for h in pf.hunks),
        deletions=sum(h.removed for h in pf.hunks),
    )


# --------------------------------------------------------------------------------------------
# paths and status


def _header_values(chunk: Sequence[str]) -> dict[str, str]:
    """The file's header lines before its first hunk, keyed by their keyword (names unquoted)."""
    values: dict[str, str] = {}
    for line in chunk:
        if line.startswith("@@ "):
            break
        line = line.rstrip("\n")
        for key in ("rename from ", "rename to ", "copy from ", "copy to "):
            if line.startswith(key):
                values[key.strip()] = _c_unquote(line[len(key):])
        for key in ("--- ", "+++ "):
            if line.startswith(key):
                values[key.strip()] = _c_unquote(line[len(key):].split("\t")[0])
        for key in ("new file mode ", "deleted file mode "):
            if line.startswith(key):
                values[key.strip()] = line[len(key):]
    return values


def _paths_and_status(chunk: Sequence[str], pf: _File) -> tuple[str, str, FileStatus]:
    """(old path, new path, status) of one file; a side that does not exist gets the other's path."""
    values = _header_values(chunk)
    is_git = chunk[0].startswith("diff --git ")
    for kind, moved in (("rename", RENAMED), ("copy", COPIED)):
        if f"{kind} from" in values and f"{kind} to" in values:
            pair = _git_header_pair(chunk[0], require_ab=True) if is_git else None
            old, new = pair or (values[f"{kind} from"], values[f"{kind} to"])
            return old or "", new or "", moved
    old_raw = values.get("---", _c_unquote(pf.source_file or ""))
    new_raw = values.get("+++", _c_unquote(pf.target_file or ""))
    status = _plain_status(values, pf, old_raw, new_raw, is_git)
    pair = _git_header_pair(chunk[0], require_ab=False) if is_git else None
    old_path, new_path = pair or _strip_prefixes(old_raw, new_raw)
    return old_path or new_path or "", new_path or old_path or "", status


def _plain_status(values: dict[str, str], pf: _File, old_raw: str, new_raw: str,
                  is_git: bool) -> FileStatus:
    if "new file mode" in values or old_raw == DEV_NULL:
        return ADDED
    if "deleted file mode" in values or new_raw == DEV_NULL:
        return DELETED
    if not is_git and len(pf.hunks) == 1:  # hg/svn/bzr name both sides even for an added/removed file
        if pf.hunks[0].old_start == 0 and pf.hunks[0].old_len == 0:
            return ADDED
        if pf.hunks[0].new_start == 0 and pf.hunks[0].new_len == 0:
            return DELETED
    return MODIFIED


def _git_header_pair(header: str, require_ab: bool) -> tuple[str | None, str | None] | None:
    """The two names of a ``diff --git`` line, unquoted and without prefixes, or None if ambiguous.

    Quoted names split unambiguously. Unquoted ones can hold spaces: a split is accepted when both
    sides name the same file after their prefixes (any non-rename), or, with ``require_ab`` (for a
    rename), when exactly one split has the ``a/`` ``b/`` prefixes.
    """
    rest = header.rstrip("\n").removeprefix("diff --git ")
    quoted = _split_quoted(rest)
    if quoted is not None:
        return _strip_prefixes(*quoted) if not require_ab else _strip_ab(*quoted)
    spaces = sorted((i for i, c in enumerate(rest) if c == " "), key=lambda i: abs(len(rest) - 1 - 2 * i))
    splits = [(rest[:i], rest[i + 1:]) for i in spaces]
    if require_ab:
        ab = [p for p in (_strip_ab(*s) for s in splits) if p is not None]
        return ab[0] if len(ab) == 1 else None
    for old, new in splits:
        stripped = _strip_prefixes(old, new)
        if stripped[0] == stripped[1]:
            return stripped
    return None


def _split_quoted(rest: str) -> tuple[str, str] | None:
    """Split ``"a/x" "b/y"``, ``"a/x" b/y`` or ``a/x "b/y"``; None when neither side is quoted."""
    if rest.startswith('"'):
        end = _closing_quote(rest)
        if end is not None and rest[end + 1:end + 2] == " ":
            return _c_unquote(rest[:end + 1]), _c_unquote(rest[end + 2:])
    if rest.endswith('"') and ' "' in rest:
        i = rest.index(' "')
        return rest[:i], _c_unquote(rest[i + 1:])
    return None


def _closing_quote(text: str) -> int | None:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i
        else:
            i += 1
    return None


def _strip_ab(old: str, new: str) -> tuple[str, str] | None:
    if old.startswith("a/") and new.startswith("b/"):
        return old[2:], new[2:]
    return None


def _strip_prefixes(old: str, new: str) -> tuple[str | None, str | None]:
    """Remove the diff tool's prefixes; /dev/null becomes None.

    Same names: no prefix. A known prefix pair (a/ b/, mnemonic, 1/ 2/): removed. Otherwise the
    longest common tail after a "/" on both sides (``original/x`` vs ``new/x``, ``src://x`` vs
    ``dst://x``) is the path. Failing all that the names stay as they are.
    """
    if old == DEV_NULL or new == DEV_NULL:
        return (None if old == DEV_NULL else old.removeprefix("a/"),
                None if new == DEV_NULL else new.removeprefix("b/"))
    if old == new:
        return old, new
    for a, b in _PREFIX_PAIRS:
        if old.startswith(a) and new.startswith(b):
            return old[len(a):], new[len(b):]
    tail = _common_tail(old, new)
    return (tail, tail) if tail else (old, new)


def _common_tail(old: str, new: str) -> str | None:
    for i in range(1, len(old)):
        if old[i - 1] == "/" and old[i] != "/":
            tail = old[i:]
            if len(new) > len(tail) and new.endswith(tail) and new[-len(tail) - 1] == "/":
                return tail
    return None


# --------------------------------------------------------------------------------------------
# git's C quoting


def _c_unquote(token: str) -> str:
    """``"a/caf\\303\\251.txt"`` -> ``a/café.txt``; a token that is not quoted comes back as is."""
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        return token
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        char, nxt = body[i], body[i + 1:i + 2]
        if char == "\\" and _OCTAL_ESCAPE.match(body, i + 1):
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif char == "\\" and nxt in _C_ESCAPES:
            out.append(_C_ESCAPES[nxt])
            i += 2
        else:
            out += char.encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", errors="replace")


def _c_quote(name: str) -> str:
    """Quote a name the way git does with core.quotePath on: only when it needs it."""
    raw = name.encode("utf-8", "surrogateescape")
    if not any(b < 0x20 or b >= 0x7F or b in (0x22, 0x5C) for b in raw):
        return name
    parts = []
    for b in raw:
        if b in _C_ESCAPED:
            parts.append("\\" + _C_ESCAPED[b])
        elif b < 0x20 or b >= 0x7F:
            parts.append(f"\\{b:03o}")
        else:
            parts.append(chr(b))
    return '"' + "".join(parts) + '"'


# --------------------------------------------------------------------------------------------
# GitHub API patches


def _synthesized_header(old: str, new: str, status: str, with_names: bool) -> str:
    """git's file header for a patch that came without one.

    No ``index`` line (blob ids are not known). git always writes ``new file mode`` /
    ``deleted file mode`` for an added / deleted file and parsers (unidiff too) need the latter to
    accept ``+++ /dev/null`` after a ``diff --git`` line; the API does not give modes, so the
    common 100644 is written there (the FileChange's own mode fields stay None: not known).
    """
    lines = [f"diff --git {_c_quote('a/' + old)} {_c_quote('b/' + new)}"]
    if status in (ADDED, DELETED):
        lines.append(f"{'new' if status == ADDED else 'deleted'} file mode {_ASSUMED_MODE}")
    if status in (RENAMED, COPIED):
        word = "rename" if status == RENAMED else "copy"
        lines += [f"{word} from {_c_quote(old)}", f"{word} to {_c_quote(new)}"]
    if with_names:
        lines.append("--- " + (DEV_NULL if status == ADDED else _label("a/", old)))
        lines.append("+++ " + (DEV_NULL if status == DELETED else _label("b/", new)))
    return "\n".join(lines) + "\n"


def _label(prefix: str, name: str) -> str:
    """A ---/+++ name as git writes it: quoted if needed, a tab after a name with a space."""
    return _c_quote(prefix + name) + ("\t" if " " in name else "")


def _omitted_note(status: str, additions: int | None, deletions: int | None) -> str:
    if status in (RENAMED, COPIED) and not additions and not deletions:
        return ""
    return "patch omitted by the source"
