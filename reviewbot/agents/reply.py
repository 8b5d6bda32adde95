"""The answer call: one request over the review's shared prefix, with a finding's thread appended.

The request carries the review's tools, system prompt and shared-context messages byte for byte
(agents.requests.build_request), so a prefix still warm from the review is read at the cache price;
the thread and the question come after it, as an agent's delta. Where the model accepts a forced
tool_choice the call names answer_thread (the cache then re-keys the messages: the tools and the
system prompt are still read); elsewhere (Sonnet 5.5, Opus 5.5, Fable and Mythos 5.1+, which answer a
forced tool with a 400) tool_choice stays as in the review and the prompt asks for the tool. One
call, never a loop: an answer that is not a valid answer_thread call is no answer.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reviewbot.agents.answer import ANSWER_NAME, ThreadAnswer, parse_answer
from reviewbot.agents.requests import Prefix, Request, build_request
from reviewbot.llm.models import model_info
from reviewbot.llm.usage import CallRecord, call_cost
from reviewbot.output.safety import fence
from reviewbot.templates import render

LABEL = "answer#1"


def answer_delta(finding: str, thread: tuple[tuple[str, str], ...], specialist: str, where: str) -> str:
    """The appended user text: the finding as posted and the thread ((author, body), oldest first),
    both fenced as data."""
    comments = "\n\n".join(f"{author}:\n{body.strip()}" for author, body in thread)
    return render("answer_thread.md.j2", finding=fence("finding", finding), thread=fence("thread", comments),
                  specialist=specialist or "unknown", where=where or "the change as a whole")


def build_answer_request(prefix: Prefix, delta: str, max_tokens: int) -> Request:
    """The review's request for one more agent, `delta` its only turn; answer_thread forced where the
    model takes a forced tool_choice."""
    request = build_request(prefix, delta, [], max_tokens)
    if model_info(prefix.model).forced_tool_choice:
        return replace(request, body={**request.body, "tool_choice": {"type": "tool", "name": ANSWER_NAME}})
    return request


def read_answer(content: list[dict[str, Any]]) -> ThreadAnswer | str:
    """The answer_thread call of the reply, or why there is none."""
    uses = [b for b in content if b.get("type") == "tool_use"]
    call = next((b for b in uses if b.get("name") == ANSWER_NAME), None)
    if call is None:
        called = ", ".join(str(b.get("name")) for b in uses) or "no tool"
        return f"the model did not answer with {ANSWER_NAME} (it called {called})"
    return parse_answer(call.get("input"))


@dataclass(frozen=True)
class PrefixUse:
    """How much of the answer call's input came from the cache."""

    read: int
    written: int
    uncached: int

    @property
    def reused(self) -> bool:
        return self.read > 0


def prefix_use(record: CallRecord) -> PrefixUse:
    u = record.usage
    return PrefixUse(u.cache_read, u.cache_write, u.input_tokens)


def answer_usage_line(record: CallRecord) -> str:
    """The usage line of the answer call: whether the review's cached prefix was reused."""
    use = prefix_use(record)
    total = use.read + use.written + use.uncached
    cache = (f"cached prefix reused ({use.read:,} of {total:,} input tokens read from the cache)" if use.reused
             else f"cached prefix not reused: cold ({use.written:,} of {total:,} input tokens written to the cache)")
    return f"usage: 1 call ({record.model}), {cache}, cost ${call_cost(record):.4f}"
