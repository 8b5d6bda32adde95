"""The last gate before anything leaves: a ReviewResult, or a JSON document, with every secret masked.

`redact_result` rebuilds a result with every string in it (change metadata, findings, statuses,
notes, raw submissions) passed through reviewbot.secrets.redact_output with the secrets known in
the change (`ReviewResult.secrets`); a suggested replacement that held one is withheld. Every
reporter starts from it (reviewbot.output.render.render), and `reviewbot github` redacts the
result before planning what it posts. `redact_json` does the same to a JSON value (keys too) for
files written beside the review (--keep-workspace). Pure.
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

from reviewbot.domain.findings import Finding
from reviewbot.domain.result import ReviewResult
from reviewbot.secrets import redact_finding, redact_output


def _walk(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_output(value, known)
    if isinstance(value, Finding):
        return redact_finding(value, known)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _walk(getattr(value, f.name), known) for f in fields(value)
                                 if f.init and f.name != "secrets"})
    if isinstance(value, tuple):
        return tuple(_walk(v, known) for v in value)
    if isinstance(value, list):
        return [_walk(v, known) for v in value]
    if isinstance(value, dict):
        return {_walk(k, known): _walk(v, known) for k, v in value.items()}
    return value


def redact_result(result: ReviewResult) -> ReviewResult:
    """`result` with every string redacted (idempotent: a redacted result comes back equal)."""
    redacted: ReviewResult = _walk(result, tuple(result.secrets))
    return redacted


def redact_json(value: Any, known: tuple[str, ...] | list[str]) -> Any:
    """A JSON value (dicts, lists, strings ...) with every string, keys included, redacted."""
    return _walk(value, tuple(known))
