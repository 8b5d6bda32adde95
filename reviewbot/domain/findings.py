"""Findings: validating what the model submits, and placing each finding on the diff.

Tool input comes from outside (the model), so it is checked field by field here; what fails is
described in one message that goes back to the model as an is_error tool result. Placement decides
where a finding can be shown: inline on a commentable new-file line, on the file, or on the change as
a whole. A finding is never dropped because its line is outside the diff: it moves up a level.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from reviewbot.agents.tools import SEVERITIES, VERDICTS
from reviewbot.domain.change import Change

INLINE, FILE, GENERAL = "inline", "file", "general"
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}       # critical = 0


def reaches(severities, fail_on: str | None) -> bool:
    """Whether any of `severities` is `fail_on` or worse (the --fail-on gate); never without a threshold."""
    return bool(fail_on) and any(SEVERITY_RANK[s] <= SEVERITY_RANK[fail_on] for s in severities)


@dataclass(frozen=True)
class Finding:
    specialist: str
    path: str
    line: int
    severity: str
    category: str
    title: str
    explanation: str
    confidence: float
    end_line: int | None = None
    suggestion: str | None = None
    placement: str = GENERAL
    note: str = ""                             # why placement moved it, etc.
    also_flagged_by: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Stable id of the issue: file, category and normalised title (not the line, which moves)."""
        key = "\x1f".join((self.path, _norm(self.category), _norm(self.title)))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def sort_key(self):
        return (SEVERITY_RANK.get(self.severity, 9), self.path, self.line, self.specialist, self.title)


@dataclass(frozen=True)
class Submission:
    findings: tuple[Finding, ...]
    verdict: str | None = None
    overview: str | None = None
    rejected: tuple[tuple[str, str], ...] = ()          # (id, reason)
    duplicates: tuple[tuple[str, str], ...] = ()        # (id, same_as)


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _str(d: dict, key: str, errors: list[str], where: str, required=True, limit=None) -> str | None:
    v = d.get(key)
    if v is None:
        if required:
            errors.append(f"{where}: '{key}' is missing")
        return None
    if not isinstance(v, str):
        errors.append(f"{where}: '{key}' must be a string")
        return None
    v = v.strip()
    return v[:limit] if limit else v


def _int(d: dict, key: str, errors: list[str], where: str, required=True) -> int | None:
    v = d.get(key)
    if v is None:
        if required:
            errors.append(f"{where}: '{key}' is missing")
        return None
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())                      # a repair, not a rejection: "12" means 12
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        errors.append(f"{where}: '{key}' must be a non-negative integer")
        return None
    return v


def parse_finding(raw, specialist: str, where: str, errors: list[str]) -> Finding | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be an object")
        return None
    n = len(errors)
    path = _str(raw, "path", errors, where)
    line = _int(raw, "line", errors, where)
    end_line = _int(raw, "end_line", errors, where, required=False)
    severity = _str(raw, "severity", errors, where)
    if severity is not None and severity.lower() not in SEVERITIES:
        errors.append(f"{where}: 'severity' must be one of {', '.join(SEVERITIES)}")
    title = _str(raw, "title", errors, where, limit=200)
    explanation = _str(raw, "explanation", errors, where, limit=4000)
    category = _str(raw, "category", errors, where, limit=60)
    suggestion = _str(raw, "suggestion", errors, where, required=False)
    conf = raw.get("confidence")
    if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
        errors.append(f"{where}: 'confidence' must be a number from 0 to 1")
    if len(errors) > n:
        return None
    if not title:
        errors.append(f"{where}: 'title' is empty")
        return None
    return Finding(specialist=specialist, path=path.lstrip("/").removeprefix("b/") if path else "",
                   line=line, end_line=end_line if end_line and end_line > line else None,
                   severity=severity.lower(), category=category or "general", title=title,
                   explanation=explanation or "", confidence=float(conf), suggestion=suggestion or None)


def parse_submission(raw, specialist: str) -> tuple[Submission | None, list[str]]:
    """The submission (its valid parts) and the problems to send back to the model (empty: all valid).

    None when the input is not a submission at all."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        return None, ["the input must be an object with a 'findings' list"]
    items = raw.get("findings")
    if not isinstance(items, list):
        return None, ["'findings' must be a list (empty when there is nothing to report)"]
    findings = [parse_finding(item, specialist, f"findings[{i}]", errors) for i, item in enumerate(items)]
    verdict = raw.get("verdict")
    if verdict is not None and verdict not in VERDICTS:
        errors.append(f"'verdict' must be one of {', '.join(VERDICTS)}")
        verdict = None
    overview = raw.get("overview")
    if overview is not None and not isinstance(overview, str):
        errors.append("'overview' must be a string")
        overview = None
    pairs = {}
    for key, a, b in (("rejected", "id", "reason"), ("duplicates", "id", "same_as")):
        value = raw.get(key) or []
        ok = isinstance(value, list) and all(isinstance(x, dict) and isinstance(x.get(a), str)
                                              and isinstance(x.get(b), str) for x in value)
        if not ok:
            errors.append(f"'{key}' must be a list of objects with string '{a}' and '{b}'")
        pairs[key] = tuple((x[a].strip(), x[b].strip()) for x in value) if ok else ()
    valid = tuple(f for f in findings if f is not None)
    return Submission(valid, verdict, overview, pairs["rejected"], pairs["duplicates"]), errors


def place(finding: Finding, change: Change) -> Finding:
    """Inline when the line is commentable in the diff, else on the file, else on the whole change."""
    f = change.file(finding.path) if finding.path else None
    if f is None:
        note = f"'{finding.path}' is not a file of this change" if finding.path else ""
        return replace(finding, placement=GENERAL, end_line=None, suggestion=None, note=note)
    finding = replace(finding, path=f.path)
    if finding.line == 0 or finding.line not in f.commentable_lines:
        note = "" if finding.line == 0 else f"line {finding.line} is not part of the diff"
        return replace(finding, placement=FILE, end_line=None, suggestion=None, note=note)
    end = finding.end_line
    if end is not None and (end not in f.commentable_lines or f.hunk_index(end) != f.hunk_index(finding.line)):
        end = None                                # a range must stay in one hunk: keep its first line
    return replace(finding, placement=INLINE, end_line=end)
