"""Reporters: a ReviewResult rendered as markdown, as JSON (schema: review.schema.json beside this
file) or as SARIF 2.1.0 (reviewbot.output.sarif).

Every output format goes through one interface, `render(result, fmt) -> str`, so the CLI never
formats anything itself (rich rendering of the markdown on a terminal is reviewbot.output.terminal).
Pure. Text that came from the model or the PR is stripped of control characters
(reviewbot.output.safety.clean: no terminal escapes smuggled in through a finding); a finding is
written by Finding.to_json, its only serialiser. `render` is also the redaction gate of every format: it
renders the result rebuilt by reviewbot.output.redact (every string masked of the change's secrets
and of secret-shaped text), and passes the finished text (markdown) or document (JSON, SARIF)
through the same redaction once more.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reviewbot.domain.change import ChangeMeta
from reviewbot.domain.enums import INLINE, Verdict
from reviewbot.domain.findings import Finding
from reviewbot.domain.result import ReviewResult
from reviewbot.llm.usage import call_cost, interactive_cost, summarize, usage_json
from reviewbot.output.redact import redact_json, redact_result
from reviewbot.output.safety import clean
from reviewbot.output.sarif import to_sarif
from reviewbot.secrets import redact_output

SCHEMA_VERSION = 1


def _where(f: Finding) -> str:
    if not f.path:
        return "(whole change)"
    if f.placement == INLINE:
        return f"{f.path}:{f.line}" + (f"-{f.end_line}" if f.end_line else "")
    return f.path


def to_json(result: ReviewResult) -> dict[str, Any]:
    m = result.meta
    s = result.schedule
    return {
        "schema_version": SCHEMA_VERSION,
        "change": {"repository": m.repository, "number": m.number, "title": m.title, "author": m.author,
                   "base_ref": m.base_ref, "head_ref": m.head_ref, "base_sha": m.base_sha, "head_sha": m.head_sha,
                   "files_changed": result.files_changed, "additions": result.additions,
                   "deletions": result.deletions},
        "complete": result.complete,
        "verdict": result.verdict,
        "overview": result.overview,
        "findings": [f.to_json() for f in result.findings],
        "specialists": [{"name": a.name, "status": a.status, "findings": a.findings, "files": list(a.files),
                         "error": a.error, "notes": list(a.notes)} for a in result.agents],
        "summary": None if result.summary is None else {
            "status": result.summary.status, "error": result.summary.error, "notes": list(result.summary.notes)},
        "rejected": [{**f.to_json(), "reason": r} for f, r in result.rejected],
        "low_confidence": [f.to_json() for f in result.low_confidence],
        "duplicates_folded": result.duplicates_folded,
        "usage": usage_json(result.calls),
        "cache": None if s is None else {"prefix_sha256": s.prefix_sha256, "strategy": s.strategy,
                                         "ttl_seconds": s.ttl_seconds, "within_ttl": s.within_ttl,
                                         "dispatch_offsets": [list(x) for x in s.dispatch_offsets]},
        "notes": list(result.notes),
        "partial_reason": result.partial_reason,
    }


def review_line(result: ReviewResult) -> str:
    """One review in one line (a bulk run's stdout): verdict, findings, calls, cost, and complete or why
    not."""
    run = summarize(result.calls)
    state = "complete" if result.complete else f"PARTIAL: {result.partial_reason or 'a reviewer failed'}"
    return (f"{result.verdict or 'no verdict'}, {len(result.findings)} finding(s), {run.calls} call(s), "
            f"${run.cost:.4f}, {state}")


def usage_line(result: ReviewResult) -> str:
    run = summarize(result.calls)
    if not run.calls:
        return "usage: no API calls"
    hit = "n/a" if run.hit_rate is None else f"{run.hit_rate:.1%}"
    saving = "" if run.saving is None else f", saving {run.saving:.0%}"
    thinking = f", {run.usage.thinking_tokens:,} thinking tokens" if run.usage.thinking_tokens else ""
    batched = [c for c in result.calls if c.batch]
    batch = (f", {len(batched)} in batches (discount ${sum(interactive_cost(c) - call_cost(c) for c in batched):.4f})"
             if batched else "")
    return (f"usage: {run.calls} calls, cache hit rate {hit}, cost ${run.cost:.4f} "
            f"(without caching ${run.naive_cost:.4f}{saving}){thinking}{batch}")


def usage_details(result: ReviewResult) -> list[str]:
    """The usage report's lines on effort, thinking, fallback calls, broken streams and cache misses."""
    calls = result.calls
    out = []
    efforts: dict[str, list[str]] = {}
    for c in calls:
        if c.effort and "#" in c.label:
            agent = c.label.split("#")[0]
            if agent not in efforts.get(c.effort, []):
                efforts.setdefault(c.effort, []).append(agent)
    if efforts:
        out.append("effort: " + "; ".join(f"{e}: {', '.join(a)}" for e, a in efforts.items()))
    thinking = sum(c.usage.thinking_tokens for c in calls)
    if thinking:
        out.append(f"thinking: {thinking:,} of {sum(c.usage.output_tokens for c in calls):,} output tokens "
                   "(billed as output)")
    fb = [c for c in calls if c.fallback]
    if fb:
        out.append(f"fallback: {len(fb)} call(s) on {fb[0].model} after a refusal, with their own cached prefix "
                   f"(${sum(call_cost(c) for c in fb):.4f})")
    refused = [c for c in calls if c.refusal]
    if refused:
        out.append("refused: " + ", ".join(f"{c.label} ({c.refusal}{'' if c.billed else ', not billed'})"
                                           for c in refused))
    broken = [c for c in calls if c.broken]
    if broken:
        out.append("broken streams (billed, then retried): " + "; ".join(f"{c.label}: {c.broken}" for c in broken))
    # Cache diagnostics compare each call with the leader's, so a follower that read the whole shared
    # prefix still reports its own delta as `messages_changed`: the calls that really missed the
    # prefix are named in the notes (review.cache_notes); every call's raw reason is in the JSON.
    return out


def to_markdown(result: ReviewResult) -> str:
    m = result.meta
    out = [f"# reviewbot: {clean(m.title) or 'review'}", ""]
    out.append(f"{clean(m.base_ref) or m.base_sha[:12]}..{clean(m.head_ref) or m.head_sha[:12]} · "
               f"{result.files_changed} file(s), +{result.additions} -{result.deletions}"
               + (f" · verdict: {result.verdict.replace('_', ' ')}" if result.verdict else ""))
    if not result.complete:
        out += ["", "**Partial review:** " + (clean(result.partial_reason) if result.partial_reason else
                                              "some reviewers did not finish") + " (see below)."]
    if result.overview:
        out += ["", "## Overview", "", clean(result.overview).strip()]
    out += ["", f"## Findings ({len(result.findings)})", ""]
    if not result.findings:
        out.append("No findings.")
    for i, f in enumerate(result.findings, start=1):
        who = f.specialist + (f"; also {', '.join(f.also_flagged_by)}" if f.also_flagged_by else "")
        out.append(f"### {i}. [{f.severity}] {clean(f.title)}")
        out.append(f"`{clean(_where(f))}` · {clean(f.category)} · {who} · confidence {f.confidence:.2f}")
        out += ["", clean(f.explanation).strip()]
        if f.suggestion:
            out += ["", "Suggested replacement:", "```", clean(f.suggestion).rstrip("\n"), "```"]
        if f.note:
            out += ["", f"_{clean(f.note)}_"]
        out.append("")
    out += ["## Reviewers", ""]
    for a in result.agents:
        if a.status == "ok":
            out.append(f"- {a.name}: {a.findings} finding(s) on {len(a.files)} file(s)")
        elif a.status == "idle":
            out.append(f"- {a.name}: not run (no file of its kinds)")
        else:
            out.append(f"- {a.name}: **failed**: {clean(a.error)}")
    if result.summary is not None:
        out.append(f"- summary: {result.summary.status}" + (f": {clean(result.summary.error)}"
                                                           if result.summary.error else ""))
    if result.rejected or result.low_confidence or result.duplicates_folded:
        out.append(f"- set aside: {len(result.rejected)} rejected by the summary, {len(result.low_confidence)} "
                   f"below the confidence floor, {result.duplicates_folded} duplicate(s) merged")
    for note in result.notes:
        out.append(f"- note: {clean(note)}")
    out += ["", "## Usage", "", usage_line(result)] + usage_details(result)
    if result.schedule:
        out.append(f"shared prefix sha256 {result.schedule.prefix_sha256[:16]}… written once "
                   f"({result.schedule.strategy}), every call dispatched within its "
                   f"{result.schedule.ttl_seconds}s TTL: {'yes' if result.schedule.within_ttl else 'NO'}")
    return "\n".join(out) + "\n"


def _json_text(result: ReviewResult) -> str:
    return json.dumps(redact_json(to_json(result), result.secrets), indent=2, ensure_ascii=False) + "\n"


def _sarif_text(result: ReviewResult) -> str:
    return json.dumps(redact_json(to_sarif(result), result.secrets), indent=2, ensure_ascii=False) + "\n"


def _markdown_text(result: ReviewResult) -> str:
    return redact_output(to_markdown(result), result.secrets)


FORMATS: dict[str, Callable[[ReviewResult], str]] = {
    "markdown": _markdown_text, "json": _json_text, "sarif": _sarif_text}
MACHINE_FORMATS = frozenset({"json", "sarif"})      # never mixed with progress; always a document


def empty_result(meta: ChangeMeta, note: str) -> ReviewResult:
    """The result of a review that had nothing to review: no calls, no findings (machine formats
    still print a valid document, so `--format sarif > f.sarif` never leaves an empty file)."""
    return ReviewResult(meta=meta, files_changed=0, additions=0, deletions=0, findings=(), verdict=Verdict.NO_ISSUES,
                        overview=None, agents=(), summary=None, rejected=(), low_confidence=(),
                        duplicates_folded=0, calls=(), schedule=None, notes=(note,))


def render(result: ReviewResult, fmt: str) -> str:
    """The review in `fmt`, redacted: no secret known in the change, and no secret-shaped text, in it."""
    return FORMATS[fmt](redact_result(result))
