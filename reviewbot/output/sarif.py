"""SARIF 2.1.0: a ReviewResult as a static-analysis log GitHub code scanning (and any SARIF viewer) loads.

Pure. Decisions, each forced by how code scanning uses the file:
- One rule per finding source: the seven specialists (`reviewbot/security`, ...) in registry order,
  the summary agent (which may add findings of its own) and the secret scanner
  (`reviewbot/secret-scan`, tagged security), always, then any other source. Code scanning
  matches alerts across runs by ruleId + path + partialFingerprints, so the ruleId must be stable; the
  model's free-text category ("sql-injection", "sqli", ...) is not, and would also make an unbounded
  rule catalog. The category goes to the result's properties instead.
- Level from severity: critical and high -> error, medium -> warning, low and nit -> note.
- partialFingerprints carries Finding.fingerprint (path, category and title; not the line, which
  moves), so an unchanged finding keeps its alert when lines shift.
- Every result has a physical location. Code scanning rejects the whole upload if any result lacks
  one ("locationFromSarifResult: expected at least one location"). Inline findings carry their
  lines; file findings their line, or line 1 when about the file as a whole; general findings (about
  the change as a whole, or naming a file outside the change) are anchored at line 1 of the change's
  first reviewed file, say so in the location's message, and keep the path the reviewer named in
  properties.reportedPath.
- Failed reviewers become toolExecutionNotifications and executionSuccessful is false, so a partial
  review is visible as such.
Text from the model or the PR is stripped of control characters (as in every reporter).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from reviewbot import __version__
from reviewbot.domain.enums import FILE, GENERAL, INLINE
from reviewbot.domain.findings import Finding
from reviewbot.domain.result import ReviewResult
from reviewbot.domain.specialists import SPECIALISTS, SUMMARY
from reviewbot.output.safety import clean as _clean
from reviewbot.secrets import SCANNER

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "reviewbot"
# Placeholder until the project has a public home: set to the repository's URL.
INFORMATION_URI = "https://github.com/reviewbot/reviewbot"
FINGERPRINT_KEY = "reviewbotFinding/v1"
LEVELS: dict[str, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "nit": "note"}
GENERAL_ANCHOR_NOTE = "about the change as a whole; shown on the first reviewed file"


def rule_id(specialist: str) -> str:
    return f"{TOOL_NAME}/{specialist}"


def _rule(name: str, short: str, full: str, extra_tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": rule_id(name),
        "name": "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", name) if w) + "Review",
        "shortDescription": {"text": short},
        "fullDescription": {"text": full[0].upper() + full[1:] + "."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": [TOOL_NAME, name, *extra_tags]},
    }


def _rules(result: ReviewResult) -> dict[str, dict[str, Any]]:
    """The rule of each finding source, by source name, in rule order: the seven specialists, the
    summary agent and the secret scanner, always (stable indices); then any other source a finding
    names, so every result's ruleId has its rule."""
    rules = {s.name: _rule(s.name, f"{s.title} reviewer", s.focus) for s in SPECIALISTS}
    rules[SUMMARY] = _rule(SUMMARY, "Summary reviewer", "problems the summary agent found itself while "
                           "verifying the specialists' findings")
    rules[SCANNER] = _rule(SCANNER, "Committed secret", "credentials found in added lines by a deterministic "
                           "scan, not by the model", ("security",))
    rules[SCANNER]["properties"]["security-severity"] = "8.0"      # its findings are all 'high'
    for n in sorted({f.specialist for f in result.findings} - set(rules)):
        rules[n] = _rule(n, f"{n} findings", f"findings reported by {n}")
    return rules


def _uri(path: str) -> str:
    """A repo-relative path as a relative URI reference (spaces, '#', '%'... percent-encoded)."""
    return quote(path.lstrip("/"), safe="/")


def _anchor(result: ReviewResult) -> str | None:
    """Where general findings are shown: the first file a reviewer was given, else the first located finding."""
    for agent in result.agents:
        if agent.files:
            return agent.files[0]
    return next((f.path for f in result.findings if f.placement != GENERAL and f.path), None)


def _location(f: Finding, anchor: str | None) -> dict[str, Any] | None:
    if f.placement in (INLINE, FILE) and f.path:
        start = f.line if f.line and f.line > 0 else 1
        region = {"startLine": start, "endLine": max(start, f.end_line or start)}
        return {"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}, "region": region}}
    if anchor is None:
        return None
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(anchor)}, "region": {"startLine": 1}},
            "message": {"text": GENERAL_ANCHOR_NOTE}}


def _message(f: Finding) -> str:
    parts = [_clean(f.title).strip()]
    if f.explanation:
        parts.append(_clean(f.explanation).strip())
    if f.suggestion:
        parts.append("Suggested replacement:\n" + _clean(f.suggestion).rstrip("\n"))
    if f.note:
        parts.append(f"({_clean(f.note)})")
    return "\n\n".join(p for p in parts if p)


def _result(f: Finding, index: dict[str, int], anchor: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"ruleId": rule_id(f.specialist), "ruleIndex": index[f.specialist],
           "level": LEVELS.get(f.severity, "warning"), "message": {"text": _message(f)}}
    loc = _location(f, anchor)
    if loc is not None:
        out["locations"] = [loc]
    out["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
    out["properties"] = {"specialist": f.specialist, "alsoFlaggedBy": list(f.also_flagged_by),
                         "severity": f.severity, "confidence": f.confidence, "category": _clean(f.category),
                         "placement": f.placement}
    if f.placement == GENERAL and f.path:
        out["properties"]["reportedPath"] = _clean(f.path)
    return out


def _notifications(result: ReviewResult, index: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for a in list(result.agents) + ([result.summary] if result.summary is not None else []):
        if a.status != "failed":
            continue
        text = f"{a.name} reviewer failed: {_clean(a.error) or 'no result'}"
        n: dict[str, Any] = {"level": "error", "message": {"text": text}}
        if a.name in index:
            n["descriptor"] = {"id": rule_id(a.name), "index": index[a.name]}
        out.append(n)
    return out


def to_sarif(result: ReviewResult) -> dict[str, Any]:
    rules = _rules(result)
    index = {name: i for i, name in enumerate(rules)}
    anchor = _anchor(result)
    m = result.meta
    invocation: dict[str, Any] = {"executionSuccessful": result.complete}
    notes = _notifications(result, index)
    if notes:
        invocation["toolExecutionNotifications"] = notes
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": list(rules.values())}},
        "invocations": [invocation],
        "results": [_result(f, index, anchor) for f in result.findings],
        "properties": {"verdict": result.verdict, "overview": _clean(result.overview) or None,
                       "complete": result.complete, "baseSha": m.base_sha, "headSha": m.head_sha,
                       "baseRef": _clean(m.base_ref) or None, "headRef": _clean(m.head_ref) or None},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
