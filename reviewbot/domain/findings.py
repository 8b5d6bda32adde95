"""Findings: what the model may submit, validating it, placing each finding on the diff, and the
one JSON form of a finding.

The submit_findings tool's input schema and the validation of its input are one definition, the
pydantic models `FindingInput` and `SubmissionInput` (their limits are the constants below, their
refusals the sentences sent back to the model as an is_error tool result). Tool input comes from
outside (the model), so each finding is validated on its own: the valid ones are kept, every
problem is reported at once. Text over a limit is cut rather than refused (a title is still a
title), except a suggestion, which would no longer be the replacement it claims to be.

Placement decides where a finding can be shown: inline on a commentable new-file line, on the file,
or on the change as a whole. A finding is never dropped because its line is outside the diff: it
moves up a level. `Finding.to_json` / `Finding.from_json` are the only serialisation of a finding
(the JSON report, saved state, the summary agent's view, the evaluation). Pure.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from reviewbot.domain.change import Change
from reviewbot.domain.enums import FILE, GENERAL, INLINE, SEVERITY_RANK, Placement, Severity, Verdict
from reviewbot.domain.schema import field_errors, refuse, tool_schema

# The limits of a submission: the schema's maxLength/maxItems and the validation's, one set.
MAX_FINDINGS = 50
TITLE_CHARS, CATEGORY_CHARS, EXPLANATION_CHARS, SUGGESTION_CHARS = 200, 60, 4000, 4000
# The summary's answer is kept short (it is output, billed at 5x the input price, and on the critical
# path): an overview of a few sentences, a reason of a few words per rejected id.
OVERVIEW_CHARS, REASON_CHARS = 1000, 200


def reaches(severities: Iterable[str], fail_on: str | None) -> bool:
    """Whether any of `severities` is `fail_on` or worse (the --fail-on gate); never without a threshold."""
    return bool(fail_on) and any(SEVERITY_RANK[s] <= SEVERITY_RANK[str(fail_on)] for s in severities)


@dataclass(frozen=True)
class Finding:
    specialist: str
    path: str
    line: int
    severity: Severity
    category: str
    title: str
    explanation: str
    confidence: float
    end_line: int | None = None
    suggestion: str | None = None
    placement: Placement = GENERAL
    note: str = ""                             # why placement moved it, etc.
    also_flagged_by: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Stable id of the issue: file, category and normalised title (not the line, which moves)."""
        key = "\x1f".join((self.path, _norm(self.category), _norm(self.title)))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def sort_key(self) -> tuple[int, str, int, str, str]:
        return (SEVERITY_RANK.get(self.severity, 9), self.path, self.line, self.specialist, self.title)

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON (the report's `findings` items, review.schema.json): the only serialiser."""
        return {"fingerprint": self.fingerprint, "specialist": self.specialist,
                "also_flagged_by": list(self.also_flagged_by), "path": self.path, "line": self.line,
                "end_line": self.end_line, "placement": str(self.placement), "severity": str(self.severity),
                "category": self.category, "title": self.title, "explanation": self.explanation,
                "suggestion": self.suggestion, "confidence": self.confidence, "note": self.note or None}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Self:
        """The finding `to_json` wrote (the fingerprint is derived, so not read). KeyError, TypeError
        or ValueError when `d` is not one."""
        return cls(specialist=str(d["specialist"]), path=str(d["path"]), line=int(d["line"]),
                   severity=Severity(d["severity"]), category=str(d["category"]), title=str(d["title"]),
                   explanation=str(d["explanation"]), confidence=float(d["confidence"]),
                   end_line=None if d.get("end_line") is None else int(d["end_line"]),
                   suggestion=d.get("suggestion"), placement=Placement(d.get("placement") or GENERAL),
                   note=d.get("note") or "", also_flagged_by=tuple(d.get("also_flagged_by") or ()))


@dataclass(frozen=True)
class Submission:
    findings: tuple[Finding, ...]
    verdict: Verdict | None = None
    overview: str | None = None
    rejected: tuple[tuple[str, str], ...] = ()          # (id, reason)
    duplicates: tuple[tuple[str, str], ...] = ()        # (id, same_as)


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# --- the submit_findings input: field types (schema + validation), then the models -----------------

def _text(limit: int | None = None) -> Callable[[Any], str]:
    """A string, stripped, cut to `limit` (prose over a limit is shortened, not refused)."""
    def check(v: Any) -> str:
        if not isinstance(v, str):
            refuse("must be a string")
        text = str(v).strip()
        return text[:limit] if limit else text
    return check


def _line(v: Any) -> int:
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())                      # a repair, not a rejection: "12" means 12
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        refuse("must be a non-negative integer")
    return v


def _choice(kind: type[StrEnum]) -> Callable[[Any], StrEnum]:
    def check(v: Any) -> StrEnum:
        try:
            return kind(v.strip().lower() if isinstance(v, str) else v)
        except ValueError:
            refuse("must be one of " + ", ".join(kind))
    return check


def _confidence(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        refuse("must be a number from 0 to 1")
    return float(v)


def _suggestion(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        refuse("must be a string")
    if len(v) > SUGGESTION_CHARS:
        refuse(f"must be at most {SUGGESTION_CHARS} characters (leave it out when the fix is not local)")
    return v.strip() or None


def _title(v: Any) -> str:
    title = _text(TITLE_CHARS)(v)
    if not title:
        refuse("is empty")
    return title


def _pairs(a: str, b: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        ok = isinstance(v, list) and all(isinstance(x, dict) and isinstance(x.get(a), str)
                                         and isinstance(x.get(b), str) for x in v)
        if not ok:
            refuse(f"must be a list of objects with string '{a}' and '{b}'")
        return v
    return check


def _or_none(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else check(v)


_EXTRA_IGNORED = ConfigDict(extra="ignore")       # a key the schema does not name is not an error


class FindingInput(BaseModel):          # one finding as the model reports it
    model_config = _EXTRA_IGNORED

    path: Annotated[str, Field(description=(
        "The changed file's path as in the file table (its new path), not the patch file name. "
        "Empty string for a finding about the change as a whole.")), BeforeValidator(_text())]
    line: Annotated[int, Field(ge=0, description=(
        "New-file line number the finding is about (a '+' or context line of the patch); "
        "0 when it is about the file as a whole.")), BeforeValidator(_line)]
    end_line: Annotated[int | None, Field(
        ge=0, description="Last new-file line of a multi-line finding, in the same hunk."),
        BeforeValidator(_or_none(_line))] = None
    severity: Annotated[Severity, BeforeValidator(_choice(Severity))]
    category: Annotated[str, Field(
        max_length=CATEGORY_CHARS, description="Short tag, e.g. sql-injection, off-by-one, n+1-query, stale-doc."),
        BeforeValidator(_text(CATEGORY_CHARS))]
    title: Annotated[str, Field(max_length=TITLE_CHARS, description="One line: what is wrong."),
                     BeforeValidator(_title)]
    explanation: Annotated[str, Field(
        max_length=EXPLANATION_CHARS, description="Why it is wrong, the concrete failure or risk, and the fix."),
        BeforeValidator(_text(EXPLANATION_CHARS))]
    suggestion: Annotated[str | None, Field(max_length=SUGGESTION_CHARS, description=(
        "Optional exact replacement text for lines line..end_line (no diff markers). "
        "Only when the fix is local and certain.")), BeforeValidator(_suggestion)] = None
    confidence: Annotated[float, Field(
        ge=0, le=1, description="How sure you are this is a real problem (0 to 1)."),
        BeforeValidator(_confidence)]

    def finding(self, specialist: str) -> Finding:
        return Finding(specialist=specialist, path=self.path.lstrip("/").removeprefix("b/"), line=self.line,
                       end_line=self.end_line if self.end_line and self.end_line > self.line else None,
                       severity=self.severity, category=self.category or "general", title=self.title,
                       explanation=self.explanation, confidence=self.confidence, suggestion=self.suggestion)


class Rejection(BaseModel):
    id: str = Field(description="Finding id, e.g. F3")
    reason: Annotated[str, Field(max_length=REASON_CHARS, description="A few words: why it is not worth keeping."),
                      BeforeValidator(_text(REASON_CHARS))]


class Duplicate(BaseModel):
    id: str = Field(description="The duplicate, e.g. F7")
    same_as: str = Field(description="The one kept, e.g. F2")


class SubmissionInput(BaseModel):
    # The whole submit_findings input (its schema is the tool's input_schema; no docstring, which
    # would be sent as a description). parse_submission validates the findings one by one.
    model_config = _EXTRA_IGNORED

    findings: list[FindingInput] = Field(max_length=MAX_FINDINGS)
    verdict: Annotated[Verdict | None, Field(description="Summary reviewer only: the overall state of the change."),
                       BeforeValidator(_or_none(_choice(Verdict)))] = None
    overview: Annotated[str | None, Field(max_length=OVERVIEW_CHARS, description=(
        "Summary reviewer only: two or three sentences on what the change does and its state, naming the "
        "most important problem; no list of findings.")),
        BeforeValidator(_or_none(_text(OVERVIEW_CHARS)))] = None
    rejected: Annotated[list[Rejection] | None, Field(
        description="Summary reviewer only: findings you judge false positives."),
        BeforeValidator(_pairs("id", "reason"))] = None
    duplicates: Annotated[list[Duplicate] | None, Field(description=(
        "Summary reviewer only: findings that repeat another one; the kept one should be where "
        "the issue fits best.")), BeforeValidator(_pairs("id", "same_as"))] = None


SUBMISSION_SCHEMA = tool_schema(SubmissionInput)


def parse_finding(raw: Any, specialist: str, where: str, errors: list[str]) -> Finding | None:
    """The finding, or None with what is wrong with it appended to `errors`."""
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be an object")
        return None
    try:
        return FindingInput.model_validate(raw).finding(specialist)
    except ValidationError as e:
        errors += field_errors(e, where)
        return None


def parse_submission(raw: Any, specialist: str) -> tuple[Submission | None, list[str]]:
    """The submission (its valid parts) and the problems to send back to the model (empty: all valid).

    None when the input is not a submission at all."""
    errors: list[str] = []
    if not isinstance(raw, dict):
        return None, ["the input must be an object with a 'findings' list"]
    items = raw.get("findings")
    if not isinstance(items, list):
        return None, ["'findings' must be a list (empty when there is nothing to report)"]
    if len(items) > MAX_FINDINGS:
        errors.append(f"'findings' must have at most {MAX_FINDINGS} items: keep the most important ones")
    parsed = [parse_finding(item, specialist, f"findings[{i}]", errors) for i, item in enumerate(items)]
    rest = {k: v for k, v in raw.items() if k != "findings" and v is not None}
    try:
        top = SubmissionInput.model_validate({**rest, "findings": []})
    except ValidationError as e:
        errors += field_errors(e)
        bad = {str(err["loc"][0]) for err in e.errors() if err["loc"]}
        top = SubmissionInput.model_validate({k: v for k, v in rest.items() if k not in bad} | {"findings": []})
    findings = tuple(f for f in parsed if f is not None)
    return Submission(findings, top.verdict, top.overview,
                      tuple((x.id.strip(), x.reason.strip()) for x in top.rejected or ()),
                      tuple((x.id.strip(), x.same_as.strip()) for x in top.duplicates or ())), errors


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
