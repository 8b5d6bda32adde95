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
from collections.abc import Iterator

from detect_secrets.core.scan import get_filters, scan_diff
from detect_secrets.settings import default_settings, get_settings

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


def _widen(line: str, value: str) -> str:
    i = line.find(value)
    if i < 0:
        return value
    tail = _TOKEN_CHARS.match(line, i + len(value))
    return line[i:i + len(value) + (len(tail.group(0)) if tail else 0)]


def detect(path: str, lines: list[tuple[int, str]]) -> Iterator[tuple[int, str, str]]:
    """(line number, kind, value) of what detect-secrets finds in `lines` ((number, text) pairs) of `path`."""
    todo = [(n, _SPLITTERS.sub(" ", text)) for n, text in lines if text.strip() and len(text) <= MAX_LINE]
    if not todo:
        return
    name = _UNSAFE_NAME.sub("_", path) or "file"
    body = "".join("+" + text + "\n" for _, text in todo)
    diff = f"--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{len(todo)} @@\n{body}"
    with default_settings():
        get_settings().disable_filters("detect_secrets.filters.common.is_invalid_file")
        get_filters.cache_clear()
        try:
            found = list(scan_diff(diff))
        finally:
            get_filters.cache_clear()
    for s in found:
        if s.type == "Private Key":          # the BEGIN line only: reviewbot takes the whole block (rules)
            continue
        number, text = todo[s.line_number - 1]
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
