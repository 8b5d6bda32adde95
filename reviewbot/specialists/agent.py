"""The agent loop one reviewer runs: read files through read_file, then submit_findings.

Bounded (max turns, max output tokens per call). Tool failures (bad path, missing file, invalid
submission) go back to the model as is_error tool results; an invalid submission is sent back once,
after which its valid findings are kept. Every call's usage is recorded on the result, including
the calls of an agent that fails, so nothing paid for is lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from ..errors import APIError, BudgetExceeded, CredentialsError, ToolInputError
from ..templates import render
from ..usage import CallRecord
from .findings import Submission, parse_submission
from .requests import Prefix, build_request, tool_result
from .tools import READ_FILE_NAME, SUBMIT_NAME, ToolBox

Send = Callable[[dict, str, "Callable[[], None] | None"], Awaitable[tuple]]


@dataclass
class AgentResult:
    name: str
    submission: Submission | None = None
    calls: list[CallRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None          # set when the agent failed and produced nothing usable
    files_read: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_turns: int
    max_output_tokens: int


def _handle(handler, block: dict, result: AgentResult) -> dict:
    args = block.get("input") if isinstance(block.get("input"), dict) else {}
    try:
        text = handler(args)
    except ToolInputError as e:
        return tool_result(block["id"], f"error: {e}", is_error=True)
    if block["name"] == READ_FILE_NAME:
        result.files_read.append(args.get("path"))
    return tool_result(block["id"], text)


async def run_agent(name: str, delta: str, prefix: Prefix, send, workspace_root: Path, limits: Limits,
                    on_first_byte: Callable[[], None] | None = None,
                    on_event: Callable[[str], None] = lambda msg: None,
                    tools: ToolBox | None = None) -> AgentResult:
    """Run one reviewer to its submission. `send(request, label, on_first_byte)` returns a CallRecord
    and the reply's content blocks; it raises APIError when the call failed for good. `tools` holds
    the reading tools' handlers (default: the workspace alone)."""
    result = AgentResult(name)
    handlers = (tools or ToolBox(workspace_root)).handlers()
    history: list[dict] = []
    retried = nudged = False
    for turn in range(1, limits.max_turns + 1):
        request = build_request(prefix, delta, history, limits.max_output_tokens)
        try:
            record, content = await send(request, f"{name}#{turn}", on_first_byte if turn == 1 else None)
        except CredentialsError:
            raise                               # fatal for the whole run, not just this agent
        except (APIError, BudgetExceeded) as e:
            result.error = str(e)
            return result
        result.calls.append(record)
        history.append({"role": "assistant", "content": list(content)})
        uses = [b for b in content if b.get("type") == "tool_use"]
        if not uses:
            if nudged:
                result.notes.append("ended without calling submit_findings")
                return result
            nudged = True
            history.append({"role": "user", "content": [{"type": "text", "text": render("nudge.md.j2")}]})
            continue
        answers = []
        for block in uses:
            if block["name"] in handlers:
                answers.append(_handle(handlers[block["name"]], block, result))
                args = block.get("input") or {}
                on_event(f"{name}: read {args.get('path')}" if block["name"] == READ_FILE_NAME
                         else f"{name}: {block['name']} {args.get('pattern')!r}")
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
        if record.stop_reason == "max_tokens":
            result.notes.append(f"turn {turn} hit max_tokens ({limits.max_output_tokens})")
        history.append({"role": "user", "content": answers})
    result.notes.append(f"stopped after {limits.max_turns} turns without a submission")
    return result
