"""Secrets in a change: found deterministically on added lines, reported masked, never echoed whole.

A credential committed in a PR is a finding whatever the model says, so it does not depend on a
model noticing it. Everything the bot prints or posts that came from the model is passed through
`redact`, so a secret the scanner found is never repeated in full, even if a reviewer quoted it.
Pure.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from .change.model import Change
from .specialists.findings import INLINE, Finding

SCANNER = "secret-scan"

PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY-----")),
    ("AWS access key id", re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b")),
    ("GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("Anthropic API key", re.compile(r"\b(sk-ant-[A-Za-z0-9_-]{20,})")),
    ("OpenAI API key", re.compile(r"\b(sk-(?!ant-)(?:proj-)?[A-Za-z0-9_-]{32,})")),
    ("Slack token", re.compile(r"\b(xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("Stripe live key", re.compile(r"\b((?:sk|rk)_live_[A-Za-z0-9]{20,})")),
    ("Google API key", re.compile(r"\b(AIza[0-9A-Za-z_-]{35})")),
    ("password or secret", re.compile(
        r"""(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|client[_-]?secret)"""
        r"""["']?\s*[:=]\s*["']([^"'\s]{8,})["']""")),
)
_PLACEHOLDER = re.compile(r"(?i)^(x+|\*+|changeme|change_me|password|secret|example|dummy|test|placeholder|"
                          r"your[_-].*|<.*>|\$\{.*\}|\{\{.*\}\}|%\(.*\)s|none|null|redacted)$")


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str
    path: str
    line: int


def mask(value: str) -> str:
    return value[:4] + "…" + f"[{len(value)} chars]"


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def scan(change: Change) -> tuple[Secret, ...]:
    found = []
    for f in change.files:
        for h in f.hunks:
            for ln in h.lines:
                if ln.kind != "+":
                    continue
                for kind, pattern in PATTERNS:
                    for m in pattern.finditer(ln.text):
                        value = m.group(1) if m.groups() else m.group(0)
                        if kind == "password or secret" and (_PLACEHOLDER.match(value) or _entropy(value) < 3.0):
                            continue
                        found.append(Secret(kind, value, f.path, ln.new_no))
    return tuple(dict.fromkeys(found))


def findings(secrets: tuple[Secret, ...]) -> tuple[Finding, ...]:
    out = []
    for s in secrets:
        out.append(Finding(
            specialist=SCANNER, path=s.path, line=s.line, severity="high", category="committed-secret",
            title=f"Possible {s.kind} committed",
            explanation=(f"This line adds what looks like a {s.kind} ({mask(s.value)}). Anything pushed to the "
                         "repository should be treated as leaked: remove it, rotate the credential, and load it "
                         "from the environment or a secret store instead."),
            confidence=0.9, placement=INLINE))
    return tuple(out)


def redact(text: str | None, secrets: tuple[Secret, ...]) -> str | None:
    if not text:
        return text
    for s in secrets:
        if s.kind != "private key" and s.value in text:
            text = text.replace(s.value, mask(s.value))
    return text
