r"""The judge: one model call per PR that pairs the review's findings with the golden comments.

Request layout, the same for every PR of a run:

    tools     submit_judgment (schema from the pydantic model Judgment)   \  the cached prefix:
    system    the judge's fixed instructions      <- breakpoint            /  written once, read after
    user      this PR: golden comments and candidates (fenced as data)        varies per PR

The judge answers only through `submit_judgment`; the same pydantic model that gives the tool its
input schema validates the answer. An invalid answer (an id out of range, a missing field) goes
back once as an is_error tool result; a reply without the tool call is nudged once. tool_choice is
never forced (several current models refuse a forced tool with thinking on) and the judge's reply
is sent back exactly as it came (thinking blocks included) when it must be corrected.

Building and validating are pure; `judge_pr` only sends through the Transport it is given.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from reviewbot.domain.schema import tool_schema
from reviewbot.errors import APIError, CredentialsError
from reviewbot.eval.golden import GoldenComment
from reviewbot.eval.score import Candidate, Link
from reviewbot.llm.transport import Transport
from reviewbot.llm.usage import CallRecord
from reviewbot.output.safety import defuse, fence
from reviewbot.templates import render

JUDGE_TOOL_NAME = "submit_judgment"
JUDGE_MAX_TOKENS = 16000
MAX_TURNS = 3


class JudgedMatch(BaseModel):
    golden: int = Field(ge=1, description="The number of the golden comment.")
    candidate: int = Field(ge=1, description="The number of the candidate finding.")
    kind: Literal["match", "partial"] = Field(
        description="match: the same underlying problem; partial: the candidate catches part of it.")
    reason: str = Field(min_length=1, max_length=1000,
                        description="One or two sentences naming the problem both describe.")


class Judgment(BaseModel):
    matches: list[JudgedMatch] = Field(
        description="Every (golden comment, candidate) pair that matches; empty when none does.")


JUDGE_TOOL: dict[str, Any] = {
    "name": JUDGE_TOOL_NAME,
    "description": "Report the judgment of this pull request, once: every candidate that matches a golden comment.",
    "input_schema": tool_schema(Judgment),
}


def system_blocks() -> list[dict[str, Any]]:
    """The judge's fixed instructions, with the cache breakpoint that closes the shared prefix."""
    return [{"type": "text", "text": render("eval_judge_system.md.j2"), "cache_control": {"type": "ephemeral"}}]


def pr_text(title: str, repository: str | None, golden: tuple[GoldenComment, ...],
            candidates: tuple[Candidate, ...]) -> str:
    golden_text = fence("golden-comments", "\n".join(
        f"[{i}] ({g.severity}) {' '.join(g.comment.split())}" for i, g in enumerate(golden, 1)))
    candidates_text = fence("candidates", "\n\n".join(
        f"[{c.id}] ({c.severity}) {c.path or '(the change as a whole)'}{f':{c.line}' if c.line else ''}: "
        f"{c.title}\n{c.explanation.strip()}" for c in candidates))
    return render("eval_judge_pr.md.j2", title=defuse(title), repository=repository, golden=golden,
                  candidates=candidates, golden_text=golden_text, candidates_text=candidates_text)


def build_request(model: str, text: str, history: list[dict[str, Any]],
                  max_tokens: int = JUDGE_MAX_TOKENS) -> dict[str, Any]:
    """One judge turn: the cached prefix (tools, system), this PR's text, the turns so far."""
    return {"model": model, "max_tokens": max_tokens, "tools": [copy.deepcopy(JUDGE_TOOL)],
            "system": system_blocks(),
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}] + copy.deepcopy(history)}


def _error(e: ValidationError, where: str) -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{where}{'.' + loc if loc else ''}: {err['msg']}"


def parse_judgment(raw: Any, n_golden: int, n_candidates: int) -> tuple[tuple[Link, ...], list[str]]:
    """The valid links of the tool input, and what was wrong (empty: all valid). Item by item, so
    one bad pair does not discard the good ones."""
    if not isinstance(raw, dict) or not isinstance(raw.get("matches"), list):
        return (), ["the input must be an object with a 'matches' list (empty when nothing matches)"]
    links, errors, seen = [], [], set()
    for i, item in enumerate(raw["matches"]):
        try:
            m = JudgedMatch.model_validate(item)
        except ValidationError as e:
            errors.append(_error(e, f"matches[{i}]"))
            continue
        if m.golden > n_golden:
            errors.append(f"matches[{i}]: there is no golden comment {m.golden} (1 to {n_golden})")
            continue
        if m.candidate > n_candidates:
            errors.append(f"matches[{i}]: there is no candidate {m.candidate} (1 to {n_candidates})")
            continue
        if (m.golden, m.candidate, m.kind) in seen:
            continue                                   # the same pair twice is not an error; kept once
        seen.add((m.golden, m.candidate, m.kind))
        links.append(Link(m.golden, m.candidate, m.kind, " ".join(m.reason.split())))
    return tuple(links), errors


@dataclass
class JudgeResult:
    links: tuple[Link, ...] = ()
    calls: list[CallRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None          # set when the judge gave no usable answer


def _tool_results(content: Sequence[dict[str, Any]], errors: list[str] | None, n_golden: int,
                  n_candidates: int) -> list[dict[str, Any]]:
    """One tool_result per tool_use of the reply, each an error (the judgment to correct, or an unknown tool)."""
    out = []
    for b in content:
        if b.get("type") != "tool_use":
            continue
        text = (render("eval_judge_invalid.md.j2", errors=errors, n_golden=n_golden, n_candidates=n_candidates)
                if b["name"] == JUDGE_TOOL_NAME else f"error: unknown tool {b['name']!r}; call {JUDGE_TOOL_NAME}")
        out.append({"type": "tool_result", "tool_use_id": b["id"], "content": text, "is_error": True})
    return out


async def judge_pr(transport: Transport, model: str, title: str, repository: str | None,
                   golden: tuple[GoldenComment, ...],
                   candidates: tuple[Candidate, ...], clock_origin: float = 0.0,
                   max_tokens: int = JUDGE_MAX_TOKENS) -> JudgeResult:
    """Judge one PR. No call when the review found nothing: every golden comment is then missed."""
    result = JudgeResult()
    if not candidates:
        result.notes.append("no candidates: nothing to judge, no call made")
        return result
    text = pr_text(title, repository, golden, candidates)
    history: list[dict[str, Any]] = []
    corrected = nudged = False
    for turn in range(1, MAX_TURNS + 1):
        request = build_request(model, text, history, max_tokens)
        try:
            reply = await transport.send(request)
        except CredentialsError:
            raise                                   # no other call of the run can succeed
        except APIError as e:
            result.error = str(e)
            return result
        result.calls.append(CallRecord(f"judge#{turn}", request["model"], reply.usage, reply.started - clock_origin,
                                       reply.first_byte - clock_origin, reply.ended - clock_origin,
                                       reply.stop_reason))
        if not reply.content:
            result.error = f"the judge returned nothing (stop_reason {reply.stop_reason or 'unknown'})"
            return result
        uses = [b for b in reply.content if b.get("type") == "tool_use" and b.get("name") == JUDGE_TOOL_NAME]
        if not uses:
            if nudged or reply.stop_reason == "max_tokens":
                hit = f" (its reply hit max_tokens, {max_tokens})" if reply.stop_reason == "max_tokens" else ""
                result.error = "the judge did not call submit_judgment" + hit
                return result
            nudged = True
            history.append({"role": "assistant", "content": list(reply.content)})
            answers = _tool_results(reply.content, [], len(golden), len(candidates))
            nudge = {"type": "text", "text": render("eval_judge_nudge.md.j2")}
            history.append({"role": "user", "content": answers + [nudge]})
            continue
        links, errors = parse_judgment(uses[0].get("input"), len(golden), len(candidates))
        if not errors or corrected:
            if errors:
                result.notes.append("judgment still invalid after one correction; kept its valid matches ("
                                    + "; ".join(errors)[:300] + ")")
            result.links = links
            return result
        corrected = True
        history.append({"role": "assistant", "content": list(reply.content)})
        history.append({"role": "user", "content": _tool_results(reply.content, errors, len(golden), len(candidates))})
    result.error = f"no valid judgment after {MAX_TURNS} turns"
    return result
