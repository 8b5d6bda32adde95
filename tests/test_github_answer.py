"""The answer to a reply in a bot's thread: the tool, the request over the review's prefix, the
usage line and the state that makes it once per thread. Pure (the cassettes are in test_github_talk)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from reviewbot.agents.answer import ANSWER_NAME, ANSWER_THREAD, ThreadAnswer, parse_answer
from reviewbot.agents.reply import answer_delta, answer_usage_line, build_answer_request, read_answer
from reviewbot.agents.requests import Prefix, build_request
from reviewbot.agents.tools import SUBMIT_NAME, TOOLS
from reviewbot.github import conversation as conv
from reviewbot.github.markers import marker
from reviewbot.llm.usage import CallRecord, Usage

BOT = "github-actions[bot]"


@dataclass(frozen=True)
class C:
    author: str
    body: str


def _prefix(model: str) -> Prefix:
    return Prefix(model=model, system_text="You review code.", opening="Review this change.",
                  reads=(("shared-mr-context.txt", "the context " * 50), ("diff/001-a.py.patch", "+x = 1\n")),
                  effort="high")


def test_the_answer_tool_is_in_every_request_and_does_not_look_like_the_reviewers_terminal_tool():
    names = [t["name"] for t in TOOLS]
    assert ANSWER_THREAD in TOOLS and names.index(SUBMIT_NAME) < names.index(ANSWER_NAME)
    # cachesim's scripted model (and a reader of the tool list) takes the first submit_/report_/finish_ tool
    assert [n for n in names if n.startswith(("submit", "report", "finish"))] == [SUBMIT_NAME]
    assert ANSWER_THREAD["input_schema"] == ThreadAnswer.model_json_schema()


@pytest.mark.parametrize("model, forced", [("claude-sonnet-5", True), ("claude-sonnet-5-5", False),
                                           ("claude-opus-5-5", False)])
def test_the_answer_request_is_the_reviews_prefix_with_the_thread_after_it(model, forced):
    prefix = _prefix(model)
    delta = answer_delta("**Off by one** in a.py", (("alice", "Why?"),), "logic", "a.py:1")
    answer = build_answer_request(prefix, delta, 4000)
    request, specialist = answer.body, build_request(prefix, "the security reviewer's role", [], 4000).body
    assert answer.shared == 3 and answer.own()[0]["content"][0]["text"] == delta
    for key in ("model", "tools", "system", "output_config"):
        assert request[key] == specialist[key]
    assert request["messages"][:3] == specialist["messages"][:3]          # the cached shared context
    assert request["messages"][3]["content"][0]["text"] == delta
    # a forced tool re-keys the messages: only where the model takes it (else a 400 on Sonnet/Opus 5.5)
    assert ("tool_choice" in request) is forced
    assert '<untrusted-data source="thread">\nalice:\nWhy?\n</untrusted-data>' in delta
    assert "answer_thread" in delta and "submit_findings" in delta


def test_an_answer_is_one_valid_answer_thread_call():
    ok = read_answer([{"type": "tool_use", "id": "t", "name": ANSWER_NAME,
                       "input": {"reply": "The caller does not check it.", "finding": "stands"}}])
    assert ok == ThreadAnswer(reply="The caller does not check it.", finding="stands")
    assert "did not answer with answer_thread (it called submit_findings)" in str(read_answer(
        [{"type": "tool_use", "id": "t", "name": SUBMIT_NAME, "input": {"findings": []}}]))
    assert "no tool" in str(read_answer([{"type": "text", "text": "hello"}]))
    assert parse_answer({"reply": "x", "finding": "maybe"}) == "finding: Input should be 'stands' or 'withdrawn'"
    assert isinstance(parse_answer({"reply": "", "finding": "stands"}), str)
    assert isinstance(parse_answer({"reply": "x", "finding": "stands", "extra": 1}), str)


def _record(read: int, written: int, uncached: int) -> CallRecord:
    return CallRecord("answer#1", "claude-sonnet-5", Usage(uncached, written, 0, read, 120), 0.0, 0.1, 0.5)


def test_the_usage_line_says_whether_the_cached_prefix_was_reused():
    warm = answer_usage_line(_record(9000, 300, 40))
    cold = answer_usage_line(_record(0, 9300, 40))
    assert "cached prefix reused (9,000 of 9,340 input tokens read from the cache)" in warm
    assert "cached prefix not reused: cold (9,300 of 9,340 input tokens written to the cache)" in cold
    assert warm.startswith("usage: 1 call (claude-sonnet-5)") and "$" in cold


def test_the_threads_answered_in_are_read_from_the_bots_own_answers_only():
    comments = [C(BOT, conv.answer("It stands.", 21, thread=7)),
                C("mallory", marker("conv", {"re": 30, "th": 8})),
                C(BOT, conv.answer("Withdrawn.", 22, suppress=("fp",), thread=9))]
    state = conv.read_state(comments, BOT)
    assert state.argued == frozenset({7, 9}) and state.answered == frozenset({21, 22})
    assert state.suppressed == frozenset({"fp"})


def test_the_thread_shown_to_the_model_has_no_hidden_markers():
    root = C(BOT, "**Off by one** in `a.py`\n\n<sub>logic</sub>\n" + marker("finding", {"fp": "abc"}))
    finding, comments = conv.thread_for_model(root.body, (root, C("alice", "Why? " + marker("conv", {"re": 1}))))
    assert "reviewbot:" not in finding and finding.startswith("**Off by one**")
    assert comments[1] == ("alice", "Why?")
