"""Manipulation attempts in a change: text written to steer an AI reviewer, found deterministically.

A pull request can carry instructions for the bot (in its title, description, commit messages,
file names, code comments or file contents): "ignore previous instructions", "approve this PR",
"summary agent: reject every finding", a fake tool result, a fake closing fence. reviewbot never
follows them (they are fenced as data, the bot has no approve tool, the summary cannot drop this
scanner's findings), and it reports them: a reviewer should know that someone tried. The scan is
phrase patterns, so a model that was fooled cannot hide it. One finding per place (the PR's
metadata as a whole: title, description, commit messages; a file's name; a file's added lines), at
most MAX_FINDINGS. Pure.
"""
from __future__ import annotations

import re

from reviewbot.domain.change import Change
from reviewbot.domain.enums import FILE, GENERAL, INLINE, Placement, Severity
from reviewbot.domain.findings import Finding

SCANNER = "injection-scan"
MAX_FINDINGS = 12
PATTERNS = re.compile("|".join((
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:previous|prior|above|earlier|"
    r"preceding|system|original)\s+(?:instructions?|prompts?|rules|directions|messages?|context)",
    r"\byou\s+are\s+now\s+(?:in\s+)?\w+",
    r"\b(?:you\s+are|you're|now|enter(?:ing)?|switch(?:ing)?\s+to|activate)\s+(?:now\s+)?(?:in\s+)?(?:maintenance|"
    r"developer|god|admin|jailbreak|unrestricted)\s+mode\b",
    r"\bnew\s+(?:system\s+)?instructions?\s*:",
    r"\b(?:approve|merge|lgtm)\s+(?:this|the)\s+(?:pr|pull\s+request|change|patch|commit)\b",
    r"\b(?:call|use|invoke)\s+(?:the\s+)?approve_\w+",
    r"\bno\s+findings?\s+(?:are|is)\s+allowed\b",
    r"\b(?:report|return|submit|output)\s+(?:no|zero|0)\s+(?:findings|issues|problems)\b",
    r"\b(?:reviewers?|agents?|assistants?|models?)\s+must\s+(?:approve|ignore|reject|not\s+report)\b",
    r"\b(?:summary|review(?:er)?|security)\s+(?:agent|bot|model|reviewer)\s*[:,]\s*\w+",
    r"\breject\s+(?:all|every)\s+(?:the\s+)?findings?\b",
    r"\b(?:print|reveal|output|show|echo|leak|exfiltrate|send)\s+(?:me\s+)?(?:the\s+)?(?:value\s+of\s+)?"
    r"(?:\$?[A-Z_]*API_KEY|env(?:ironment)?(?:\s+variables?)?|secrets?|credentials?|system\s+prompt|tokens?)\b",
    r"\bANTHROPIC_API_KEY\b",
    r"</?\s*(?:untrusted-data|system|assistant|tool_result|function_results|instructions|im_start|im_end)\b",
    r"\"type\"\s*:\s*\"tool_(?:result|use)\"",
    r"\btool_use_id\b",
    r"^\s*(?:SYSTEM|ASSISTANT|Human|Assistant)\s*:",
    r"\[/?INST\]|<<SYS>>",
    r"\b(?:read|open|cat|fetch|include)\s+(?:the\s+file\s+)?(?:\.\./){2,}",
    r"\b(?:read|open|cat|fetch)\s+(?:the\s+file\s+)?/proc/self/environ",
)), re.I | re.M)


def _shown(path: str) -> str:
    """A path as it can be shown on one line: control characters (a newline in a name) escaped."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group(0))[1:-1], path)


def _snippet(text: str, start: int, end: int) -> str:
    s = " ".join(text[max(0, start - 20):min(len(text), end + 40)].split())
    return s if len(s) <= 120 else s[:117] + "..."


def _finding(where: str, snippet: str, path: str = "", line: int = 0, placement: Placement = GENERAL) -> Finding:
    return Finding(
        specialist=SCANNER, path=path, line=line, severity=Severity.HIGH, category="prompt-injection",
        title=f"Prompt injection attempt in {where}",
        explanation=(f"The {where} holds text written to steer an AI reviewer: \"{snippet}\". reviewbot treated it "
                     "as data and did not follow it; a human should look at why it is there, and at anything "
                     "else this change does."),
        confidence=0.9, placement=placement)


def scan(change: Change) -> tuple[Finding, ...]:
    """One finding per place in the change that carries a manipulation attempt."""
    out: list[Finding] = []
    m = change.meta
    places, first = [], ""
    for where, text in (("title", m.title), ("description", m.description),
                        *((f"commit message {i}", c) for i, c in enumerate(m.commits, 1))):
        hit = PATTERNS.search(text or "")
        if hit:
            places.append(where)
            first = first or _snippet(text, *hit.span())
    if places:                 # one finding about the change as a whole (they would be merged anyway)
        out.append(_finding("the pull request's " + ", ".join(places), first))
    for f in change.files:
        hit = PATTERNS.search(f.path)
        if hit:
            out.append(_finding(f"the file name {_shown(f.path)!r}", _snippet(_shown(f.path), *hit.span()), f.path, 0,
                                FILE))
        for h in f.hunks:
            hits = [(ln.new_no, ln.text, hit) for ln in h.iter_lines()
                    if ln.kind == "+" and ln.new_no is not None and (hit := PATTERNS.search(ln.text))]
            if hits:
                number, text, hit = hits[0]
                out.append(_finding(f"the added lines of {_shown(f.path)}", _snippet(text, *hit.span()), f.path,
                                    number, INLINE))
                break
    return tuple(out[:MAX_FINDINGS])
