"""Secrets in a change: found deterministically, reported masked, and never written out whole.

Two jobs, one module:

* **Detection** (`scan`): every added line of the change goes through detect-secrets
  (reviewbot.secrets.detect) and reviewbot's own rules for its gaps (reviewbot.secrets.rules):
  keyword-named assignments in every naming style, provider formats, whole private key blocks,
  `.env` files. A secret on an added line is a finding of its own ("secret-scan", high, masked),
  whatever a model says; also when the same line was deleted and added again (moved, re-indented:
  it is committed again), and when a commit of a patch series added it and a later one removed it
  (it is in the history that was pushed).
* **Redaction** (`known_secrets`, `redact_output`): everything reviewbot writes passes
  `redact_output(text, known)`. `known` is every secret value seen anywhere in the change (added,
  deleted and context lines, the full files, title, description, commit messages); each is
  replaced by its mask. The provider, private-key, URL-credential and keyword-assignment patterns
  then mask what no scan could know: a secret a model invents, or quotes from a file outside the
  diff. `redact_output` is idempotent: a mask is never masked again.

Pure (detect-secrets runs in memory).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from reviewbot.domain.change import Change, FileChange
from reviewbot.domain.enums import FILE, INLINE, Severity
from reviewbot.domain.findings import Finding
from reviewbot.secrets.detect import detect
from reviewbot.secrets.rules import (
    ASSIGNMENT,
    MASK_MARK,
    PRIVATE_KEY_BLOCK,
    PRIVATE_KEY_MASK,
    PROVIDER_PATTERNS,
    URL_CREDENTIALS,
    private_key_blocks,
    scan_line,
    secret_name,
    secret_value,
    url_password,
)

SCANNER = "secret-scan"
MIN_KNOWN = 8            # shorter values are masked only where a pattern shows them as secrets
_GENERIC = ("secret in", "high-entropy")
_SUGGESTION_WITHHELD = "suggested replacement withheld: it held a secret"


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str
    path: str
    line: int
    note: str = ""           # e.g. also on a removed line; added by an intermediate commit


def mask(value: str) -> str:
    """What is shown instead of a secret: its first four characters when it is long, and its length."""
    head = value[:4] if len(value) >= 20 else ""
    return f"{head}{MASK_MARK}redacted {len(value)} chars]"


def _rank(kind: str) -> int:
    return 2 if kind.startswith(_GENERIC) else 1 if kind == "password in a URL" else 0


class _Numbered:
    """(number, text) lines made afresh each time they are iterated: a large file's lines are read one
    at a time from its patch or its text, never held as a list (the scans read them three times)."""

    def __init__(self, make: Callable[[], Iterator[tuple[int, str]]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return self._make()


def _text_lines(text: str) -> Iterator[tuple[int, str]]:
    """enumerate(text.split("\n"), 1), one part at a time."""
    start, number = 0, 1
    while (end := text.find("\n", start)) >= 0:
        yield number, text[start:end]
        start, number = end + 1, number + 1
    yield number, text[start:]


def _diff_lines(f: FileChange) -> Iterator[tuple[int, str]]:
    """Every line of a file's hunks (added, removed, context), numbered in diff order."""
    return enumerate((ln.text for h in f.hunks for ln in h.iter_lines()), 1)


def _lines_secrets(path: str, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, str]]:
    """(line, kind, value) of every secret in `lines` of `path`: detect-secrets, own rules, key blocks.
    `lines` is iterated three times (a list, or a _Numbered)."""
    for number, text in lines:
        for kind, value in scan_line(text, path):
            yield number, kind, value
    yield from detect(path, lines)
    for number, body in private_key_blocks(lines):
        yield number, "private key", "\n".join(body) if body else "-----PRIVATE KEY-----"


def _best(found: Iterable[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """One entry per (line, value), the most specific kind; values inside another one on the line dropped."""
    by_key: dict[tuple[int, str], str] = {}
    for number, kind, value in found:
        key = (number, value)
        if key not in by_key or _rank(kind) < _rank(by_key[key]):
            by_key[key] = kind
    out = []
    for (number, value), kind in by_key.items():
        if any(n == number and value != v and value in v for n, v in by_key):
            continue
        out.append((number, kind, value))
    return sorted(out)


def _added(f: FileChange) -> _Numbered:
    return _Numbered(lambda: ((ln.new_no, ln.text) for h in f.hunks for ln in h.iter_lines()
                              if ln.kind == "+" and ln.new_no is not None))


def _on_removed_line(f: FileChange, value: str) -> bool:
    return any(value in ln.text for h in f.hunks for ln in h.iter_lines() if ln.kind == "-")


def scan(change: Change) -> tuple[Secret, ...]:
    """The secrets this change commits: on its added lines, and on lines added by a commit of its
    series that a later commit removed."""
    found: list[Secret] = []
    for f in change.files:
        for number, kind, value in _best(_lines_secrets(f.path, _added(f))):
            note = ("the same value is on a removed line too: it was in the repository before and is "
                    "committed again here" if _on_removed_line(f, value) else "")
            found.append(Secret(kind, value, f.path, number, note))
    seen = {s.value for s in found}
    for subject, files in change.history:
        for f in files:
            for _, kind, value in _best(_lines_secrets(f.path, _added(f))):
                if value not in seen:
                    seen.add(value)
                    found.append(Secret(kind, value, f.path, 0, f"added by the commit {subject!r} and removed "
                                        "later in the series: it is still in the history that was pushed"))
    return tuple(found)


def _texts(change: Change) -> Iterator[tuple[str, Iterable[tuple[int, str]]]]:
    """(name, numbered lines) of every text of the change: each file's diff lines, the lines each
    commit of a series added, the full files, and the metadata."""
    for f in change.files:
        yield f.path, _Numbered(partial(_diff_lines, f))
    for _, files in change.history:
        for f in files:
            yield f.path, _added(f)
    for path, text in change.sources:
        yield path, _Numbered(partial(_text_lines, text))
    m = change.meta
    for name, text in (("title.txt", m.title), ("description.md", m.description), ("author.txt", m.author),
                       *((f"commit-{i}.txt", c) for i, c in enumerate(m.commits)),
                       *change.review_rules, *((f"prior-{i}.txt", p) for i, p in enumerate(change.prior_findings))):
        yield name, list(enumerate((text or "").split("\n"), 1))


def known_secrets(change: Change, secrets: Iterable[Secret] = ()) -> tuple[str, ...]:
    """Every secret value seen anywhere in the change, longest first: what redaction replaces."""
    values = {s.value for s in secrets}
    for path, lines in _texts(change):          # one text at a time: a large change is never all in lines
        values |= {value for _, _, value in _lines_secrets(path, lines)}
    out: set[str] = set()
    for v in values:
        if "\n" in v:                       # a private key: each line of it, and the whole
            out |= {part for part in v.split("\n") if len(part) >= 16}
        if len(v) >= MIN_KNOWN:
            out.add(v)
    return tuple(sorted(out, key=lambda v: (-len(v), v)))


def _variants(value: str) -> list[str]:
    """The value as it is, and as it appears inside a JSON string (escaped)."""
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=True)[1:-1]]
    return list(dict.fromkeys(f for f in forms if f))


def _mask_assignments(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        quoted = m.group("qvalue") is not None
        value = m.group("qvalue") if quoted else m.group("value")
        if not (secret_name(m.group("name")) and secret_value(value, quoted)):
            return m.group(0)
        start, end = m.span("qvalue" if quoted else "value")
        a, b = start - m.start(), end - m.start()
        return m.group(0)[:a] + mask(value) + m.group(0)[b:]
    return ASSIGNMENT.sub(sub, text)


def redact_output(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every known secret and every secret-shaped string masked. Pure and idempotent."""
    if not text:
        return text
    for value in known:
        if len(value) >= MIN_KNOWN:
            for form in _variants(value):
                if form in text:
                    text = text.replace(form, mask(value))
    text = PRIVATE_KEY_BLOCK.sub(PRIVATE_KEY_MASK, text)
    for _, pattern in PROVIDER_PATTERNS:
        text = pattern.sub(lambda m: mask(m.group(0)), text)
    text = URL_CREDENTIALS.sub(lambda m: m.group(0) if not url_password(m.group("value")) else
                               m.group(0)[:m.start("value") - m.start()] + mask(m.group("value")) + "@", text)
    return _mask_assignments(text)


def redact_json(value: object, known: Iterable[str]) -> object:
    """A JSON value (dicts, lists, strings, numbers) with every string, keys included, redacted."""
    values = tuple(known)
    if isinstance(value, str):
        return redact_output(value, values)
    if isinstance(value, list):
        return [redact_json(v, values) for v in value]
    if isinstance(value, dict):
        return {redact_output(str(k), values): redact_json(v, values) for k, v in value.items()}
    return value


def redact(text: str | None, secrets: Iterable[Secret | str]) -> str | None:
    """redact_output for optional text, with Secret records or values."""
    if not text:
        return text
    return redact_output(text, [s.value if isinstance(s, Secret) else s for s in secrets])


def redact_finding(f: Finding, known: Iterable[str]) -> Finding:
    """A finding with its text redacted. A suggested replacement that held a secret is withheld (with
    a note), not masked: applied, a masked suggestion would commit the mask as code."""
    known = tuple(known)
    suggestion, note = f.suggestion, f.note
    if suggestion and redact_output(suggestion, known) != suggestion:
        suggestion = None
        note = "; ".join(x for x in (note, _SUGGESTION_WITHHELD) if x)
    return replace(f, title=redact_output(f.title, known), explanation=redact_output(f.explanation, known),
                   category=redact_output(f.category, known), path=f.path, suggestion=suggestion,
                   note=redact_output(note, known))


def hunk_shows_secret(change: Change, path: str, line: int, known: Iterable[str]) -> bool:
    """Whether GitHub's `diff_hunk` of an inline comment on `line` of `path` (the hunk's header through
    the commented line) would show a secret: such a comment goes in the review body instead."""
    f = change.file(path)
    i = f.hunk_index(line) if f else None
    if f is None or i is None:
        return False
    h = f.hunks[i]
    shown = [h.section]
    for ln in h.lines:
        shown.append(ln.text)
        if ln.new_no == line and ln.kind != "-":
            break
    text = "\n".join(shown)
    return redact_output(text, tuple(known)) != text


def findings(secrets: tuple[Secret, ...]) -> tuple[Finding, ...]:
    out = []
    for s in secrets:
        shown = "a private key block" if s.kind == "private key" else mask(s.value)
        out.append(Finding(
            specialist=SCANNER, path=s.path, line=s.line, severity=Severity.HIGH, category="committed-secret",
            title=f"Possible {s.kind} committed",
            explanation=(f"This line adds what looks like a {s.kind} ({shown}). Anything pushed to the "
                         "repository should be treated as leaked: remove it, rotate the credential, and load it "
                         "from the environment or a secret store instead." + (f" Note: {s.note}." if s.note else "")),
            confidence=0.9, placement=INLINE if s.line else FILE))
    return tuple(out)
