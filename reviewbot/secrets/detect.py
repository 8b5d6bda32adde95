"""The detect-secrets adapter: its plugins and filters run over lines of the change, in memory.

detect-secrets (Yelp, https://github.com/Yelp/detect-secrets) is the maintained detector: provider
formats (AWS, GitHub, Stripe, Slack, OpenAI, Azure, Twilio, JWT ...), keywords, basic-auth URLs,
private keys and high-entropy strings, with its heuristic filters (UUIDs, sequential strings,
templated and indirect references, lock files ...). Its public `scan_diff` is given a synthesized
diff of the lines to check, under the file's own name (its keyword rules depend on the file type),
with the filter that wants the file on disk turned off: nothing of the change is written out.

Its results are normalised: a value it reports only in part (the GitHub plugin reports the
"ghp" prefix) is widened to the whole token, and a high-entropy string counts only when it is
assigned (`x = "..."`, `key: ...`): a hash in prose is not a credential.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator

from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import scan_diff
from detect_secrets.settings import default_settings, get_filters, get_settings

from reviewbot.secrets.rules import high_entropy_assignment, placeholder, strong_value, url_password

_ENTROPY_TYPES = frozenset({"Base64 High Entropy String", "Hex High Entropy String"})
_KINDS = {"Secret Keyword": "secret in a keyword-named assignment", "Basic Auth Credentials": "password in a URL",
          "GitHub Token": "GitHub token", "Stripe Access Key": "Stripe secret key", "Slack Token": "Slack token",
          "OpenAI Token": "OpenAI API key", "JSON Web Token": "JSON web token",
          "Base64 High Entropy String": "high-entropy string in an assignment",
          "Hex High Entropy String": "high-entropy string in an assignment"}
_AWS_ID = re.compile(r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.~]*")
# characters unidiff (str.splitlines) would split a line on, besides "\n"
_SPLITTERS = re.compile(r"[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_UNSAFE_NAME = re.compile(r"[\s\"\\]")
MAX_LINE = 20_000      # longer lines (minified code, data) are checked by reviewbot's own rules only
CHUNK_LINES = 2_000    # lines per detect-secrets call
CONTEXT_LINES = 5      # the context its filters see on each side of a line (get_code_snippet)
# detect-secrets keeps its settings and filter cache in process-wide globals: two scans at once (the
# reviews of a bulk run each scan in a worker thread) would read each other's half-made settings and
# drop or invent findings. One scan at a time.
_SETTINGS_LOCK = threading.Lock()


def _widen(line: str, value: str) -> str:
    i = line.find(value)
    if i < 0:
        return value
    tail = _TOKEN_CHARS.match(line, i + len(value))
    return line[i:i + len(value) + (len(tail.group(0)) if tail else 0)]


def _windows(todo: Iterable[tuple[int, str]]) -> Iterator[tuple[int, int, int, list[tuple[int, str]]]]:
    """(first, last, lo, lines lo..hi-1): the lines first..last-1 to scan, CHUNK_LINES at a time, and
    the lines to give detect-secrets for them, which carry CONTEXT_LINES lines of context each side,
    the snippet its filters look at (e.g. an allowlist comment on the line before), so chunking
    changes no result. `todo` is read as a stream: only one chunk and its context are held."""
    buf: list[tuple[int, str]] = []
    base = first = 0                       # buf[0] is line `base` of todo
    for item in todo:
        buf.append(item)
        if base + len(buf) >= first + CHUNK_LINES + CONTEXT_LINES:
            lo = max(0, first - CONTEXT_LINES)
            yield first, first + CHUNK_LINES, lo, buf[lo - base:first + CHUNK_LINES + CONTEXT_LINES - base]
            first += CHUNK_LINES
            drop = max(0, first - CONTEXT_LINES) - base
            del buf[:drop]
            base += drop
    total = base + len(buf)
    while first < total:
        last = min(first + CHUNK_LINES, total)
        lo = max(0, first - CONTEXT_LINES)
        yield first, last, lo, buf[lo - base:min(total, last + CONTEXT_LINES) - base]
        first = last


def _scan(name: str, lines: list[tuple[int, str]]) -> list[PotentialSecret]:
    body = "".join("+" + text + "\n" for _, text in lines)
    diff = f"--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
    with _SETTINGS_LOCK, default_settings():
        get_settings().disable_filters("detect_secrets.filters.common.is_invalid_file")
        get_filters.cache_clear()
        try:
            return list(scan_diff(diff))
        finally:
            get_filters.cache_clear()


def detect(path: str, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, str]]:
    """(line number, kind, value) of what detect-secrets finds in `lines` ((number, text) pairs) of `path`.

    The lines are read as a stream and go to detect-secrets in chunks (a synthesized diff of each),
    so its memory stays that of a few thousand lines whatever the size of the change."""
    todo = ((n, _SPLITTERS.sub(" ", text)) for n, text in lines if text.strip() and len(text) <= MAX_LINE)
    name = _UNSAFE_NAME.sub("_", path) or "file"
    for first, last, lo, chunk in _windows(todo):
        found = [s for s in _scan(name, chunk) if first <= lo + s.line_number - 1 < last]
        yield from _normalised(chunk, 0, found)


def _normalised(todo: list[tuple[int, str]], offset: int,
                found: list[PotentialSecret]) -> Iterator[tuple[int, str, str]]:
    for s in found:
        if s.type == "Private Key":          # the BEGIN line only: reviewbot takes the whole block (rules)
            continue
        number, text = todo[offset + s.line_number - 1]
        value = _widen(text, s.secret_value or "")
        if not value or placeholder(value):
            continue
        if s.type in _ENTROPY_TYPES and not high_entropy_assignment(text, value):
            continue
        if s.type == "Secret Keyword" and not strong_value(value):
            continue
        if s.type == "Basic Auth Credentials" and not url_password(value):
            continue
        kind = _KINDS.get(s.type, s.type)
        if s.type == "AWS Access Key":
            kind = "AWS access key id" if _AWS_ID.fullmatch(value) else "AWS secret access key"
        yield number, kind, value
