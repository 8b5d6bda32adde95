"""The agent loop one reviewer runs: read files through read_file, then submit_findings.

Bounded (max turns, max output tokens per call, thinking included). Tool failures (bad path,
missing file, invalid submission) go back to the model as is_error tool results; an invalid
submission is sent back once, after which its valid findings are kept. Every block the model
returns goes back exactly as returned (thinking blocks and their signatures included), and an empty
reply is never sent back as an empty assistant turn. A refusal (stop_reason "refusal", empty
content) is retried once on the fallback model, from the start (its own cached prefix), or ends the
agent with the reason. A turn cut at max_tokens (usually inside the thinking) is not sent back: it is
asked again once with twice the output budget, then the agent ends with a note. Every call's usage is
recorded on the result, including the calls of an agent that fails, so nothing paid for is lost.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from reviewbot.agents.requests import Message, Prefix, Request, build_request, tool_result
from reviewbot.agents.tools import READ_FILE_NAME, SUBMIT_NAME, ToolBox
from reviewbot.domain.events import AgentRefused, CodeSearched, FileRead, OnEvent, ignore
from reviewbot.domain.findings import Submission, parse_submission
from reviewbot.errors import APIError, BudgetExceeded, CredentialsError, ToolInputError
from reviewbot.llm.models import model_info
from reviewbot.llm.transport import Block, OnStart
from reviewbot.llm.usage import CallRecord
from reviewbot.templates import render

MAX_OUTPUT_CAP = 128_000          # the largest output budget a max_tokens retry asks for


@dataclass
class AgentResult:
    name: str
    submission: Submission | None = None
    calls: list[CallRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None          # set when the agent failed and produced nothing usable
    files_read: list[str] = field(default_factory=list)
    failure: APIError | BudgetExceeded | None = field(default=None, compare=False, repr=False)
    model: str = ""                   # the model that produced the submission (the fallback after a refusal)


@dataclass(frozen=True)
class Limits:
    max_turns: int
    max_output_tokens: int


class Send(Protocol):
    """How the loop makes a call: reviewbot.pipeline.schedule.Runner.send."""

    async def __call__(self, request: Request, label: str, on_first_byte: OnStart | None = None,
                       fallback: bool = False) -> tuple[CallRecord, tuple[Block, ...]]: ...


def _handle(handler: Callable[[dict[str, Any]], str], block: Block, result: AgentResult) -> Block:
    raw = block.get("input")
    args: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        text = handler(args)
    except ToolInputError as e:
        return tool_result(block["id"], f"error: {e}", is_error=True)
    if block["name"] == READ_FILE_NAME:
        result.files_read.append(str(args.get("path")))
    return tool_result(block["id"], text)


def fallback_prefix(prefix: Prefix, fallback_model: str) -> Prefix:
    """The same prefix for the fallback model (its own cache entry); the review's effort only where
    the fallback model takes it."""
    info = model_info(fallback_model)
    return replace(prefix, model=fallback_model, effort=prefix.effort if prefix.effort in info.effort else None)


async def run_agent(name: str, delta: str, prefix: Prefix, send: Send, workspace_root: Path, limits: Limits,
                    on_first_byte: OnStart | None = None,
                    on_event: OnEvent = ignore, effort: str | None = None,
                    previous_message_id: str | None = None, fallback_model: str | None = None,
                    result: AgentResult | None = None, tools: ToolBox | None = None) -> AgentResult:
    """Run one reviewer to its submission. `send(request, label, on_start)` returns a CallRecord and
    the reply's content blocks; it raises APIError when the call failed for good. `result` (given by
    the caller) fills in as the agent goes, so a cancelled agent still shows what it paid for.
    `tools` holds the reading tools' handlers (default: the workspace alone)."""
    result = result if result is not None else AgentResult(name)
    result.model = prefix.model
    handlers = (tools or ToolBox(workspace_root)).handlers()
    history: list[Message] = []
    retried = nudged = bumped = False
    max_tokens = limits.max_output_tokens
    previous = previous_message_id
    on_fallback = False
    label_no = 0
    turn = 0
    while turn < limits.max_turns:
        turn += 1
        label_no += 1
        request = build_request(prefix, delta, history, max_tokens, effort, {"previous_message_id": previous})
        try:
            record, content = await send(request, f"{name}#{label_no}", on_first_byte if label_no == 1 else None,
                                         fallback=on_fallback)
        except CredentialsError:
            raise                               # fatal for the whole run, not just this agent
        except (APIError, BudgetExceeded) as e:
            result.error, result.failure = str(e), e
            return result
        result.calls.append(record)
        previous = record.message_id or previous
        if record.stop_reason == "refusal":
            why = f"refused by {prefix.model} (category: {record.refusal or 'unspecified'})"
            if fallback_model and not on_fallback and fallback_model != prefix.model:
                result.notes.append(f"{why}: retried on the fallback model {fallback_model}, from the start "
                                    "(its own cached prefix)")
                on_event(AgentRefused(name, prefix.model, record.refusal, fallback_model))
                prefix, on_fallback, history, previous = fallback_prefix(prefix, fallback_model), True, [], None
                result.model = prefix.model
                retried = nudged = bumped = False
                max_tokens, turn = limits.max_output_tokens, 0
                continue
            result.error = why + ("" if fallback_model else " (no fallback_model configured)")
            return result
        uses = [b for b in content if b.get("type") == "tool_use"]
        submitted = any(b["name"] == SUBMIT_NAME for b in uses)
        if record.stop_reason == "max_tokens" and not submitted:
            # The turn was cut (often inside the thinking): sending a cut turn back would continue
            # from a broken tool call. Ask the same turn again once, with twice the budget.
            if not bumped and max_tokens < MAX_OUTPUT_CAP:
                bumped = True
                result.notes.append(f"turn {turn} hit max_tokens ({max_tokens}); asked again with "
                                    f"{min(2 * max_tokens, MAX_OUTPUT_CAP)}")
                max_tokens = min(2 * max_tokens, MAX_OUTPUT_CAP)
                turn -= 1
                continue
            result.error = (f"turn {turn} hit max_tokens ({max_tokens}) again before submit_findings: "
                            "raise max_output_tokens")
            return result
        if content:
            history.append({"role": "assistant", "content": list(content)})
        if not uses:
            if nudged:
                result.notes.append("ended without calling submit_findings")
                return result
            nudged = True
            history.append({"role": "user", "content": [{"type": "text", "text": render("nudge.md.j2")}]})
            continue
        answers: list[Block] = []
        for block in uses:
            if block["name"] in handlers:
                answers.append(_handle(handlers[block["name"]], block, result))
                args = block.get("input") or {}
                on_event(FileRead(name, args.get("path")) if block["name"] == READ_FILE_NAME
                         else CodeSearched(name, block["name"], args.get("pattern")))
            elif block["name"] == SUBMIT_NAME:
                submission, errors = parse_submission(block.get("input"), name)
                if not errors:
                    result.submission = submission
                elif retried:
                    result.submission = submission or Submission(())
                    result.notes.append("submission still invalid after one correction; kept its valid "
                                        f"findings ({'; '.join(errors)[:300]})")
                else:
                    retried = True
                    answers.append(tool_result(block["id"], render("invalid_submission.md.j2", errors=errors),
                                               is_error=True))
            else:
                answers.append(tool_result(block["id"], f"error: unknown tool {block['name']!r}", is_error=True))
        if result.submission is not None:
            return result
        history.append({"role": "user", "content": answers})
    result.notes.append(f"stopped after {limits.max_turns} turns without a submission")
    return result
