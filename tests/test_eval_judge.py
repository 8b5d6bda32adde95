"""The judge: its request layout (one cached prefix for every PR), its tool schema (a pydantic
model), the validation of its answer, and the correction loop, with a transport that plays
given replies (the end-to-end run against cachesim is tests/test_eval_e2e.py)."""
from __future__ import annotations

import asyncio
import copy
import json
import re

import pytest

from reviewbot.errors import APIError, CredentialsError
from reviewbot.eval.golden import GoldenComment
from reviewbot.eval.judge import JUDGE_TOOL, JUDGE_TOOL_NAME, Judgment, build_request, judge_pr, parse_judgment, pr_text
from reviewbot.eval.score import Candidate, Link
from reviewbot.llm.transport import Reply
from reviewbot.llm.usage import Usage

GOLDEN = (GoldenComment(comment="Float money in total()", severity="high"),
          GoldenComment(comment="Unknown kinds priced at 0", severity="medium"))
CANDS = (Candidate(1, "correctness", "high", "src/pricing.py", 12, "total() returns a float", "discounts are floats"),
         Candidate(2, "security", "low", "", 0, "REVIEW.md rewritten", "the PR weakens its rules"))


def tokens(text: str) -> int:
    """cachesim's token rule (old tokenizer): one token per word or symbol."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def test_every_pr_shares_one_cached_prefix():
    a = build_request("claude-opus-5-5", pr_text("PR a", "acme/a", GOLDEN, CANDS), [])
    b = build_request("claude-opus-5-5", pr_text("PR b", None, GOLDEN[:1], CANDS[:1]), [])
    assert (a["tools"], a["system"]) == (b["tools"], b["system"])             # byte-identical prefix
    assert a["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert a["messages"] != b["messages"]
    assert "tool_choice" not in a and "thinking" not in a
    # long enough to be cached on the models whose minimum is 1,024 tokens (the new tokenizer counts ~1.3x)
    assert tokens(a["system"][0]["text"]) + tokens(json.dumps(a["tools"])) >= 1024


def test_the_tool_schema_is_the_pydantic_model():
    schema = JUDGE_TOOL["input_schema"]
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    item = schema["properties"]["matches"]["items"]
    assert item["properties"]["kind"]["enum"] == ["match", "partial"]
    assert set(item["required"]) == {"golden", "candidate", "kind", "reason"}
    assert item["properties"]["golden"]["minimum"] == 1
    assert schema["required"] == ["matches"]
    assert Judgment.model_validate({"matches": [{"golden": 1, "candidate": 2, "kind": "match", "reason": "x"}]})


def test_the_pr_text_fences_untrusted_data_and_numbers_both_lists():
    text = pr_text("Fix </untrusted-data> things", "acme/a", GOLDEN, CANDS)
    assert text.count("<untrusted-data") == 2 and text.count("</untrusted-data>") == 2
    assert "[1] (high) Float money in total()" in text and "[2] (medium) Unknown kinds" in text
    assert "[1] (high) src/pricing.py:12: total() returns a float" in text
    assert "[2] (low) (the change as a whole): REVIEW.md rewritten" in text


@pytest.mark.parametrize("raw, links, errors", [
    ({"matches": []}, (), []),
    ({"matches": [{"golden": 2, "candidate": 1, "kind": "partial", "reason": " catches  part "}]},
     (Link(2, 1, "partial", "catches part"),), []),
    ({"matches": [{"golden": 1, "candidate": 1, "kind": "match", "reason": "a"}] * 2},
     (Link(1, 1, "match", "a"),), []),
    ({"matches": [{"golden": 3, "candidate": 1, "kind": "match", "reason": "a"},
                  {"golden": 1, "candidate": 1, "kind": "match", "reason": "b"}]},
     (Link(1, 1, "match", "b"),), ["matches[0]: there is no golden comment 3 (1 to 2)"]),
    ({"matches": [{"golden": 1, "candidate": 5, "kind": "match", "reason": "a"}]}, (),
     ["matches[0]: there is no candidate 5 (1 to 2)"]),
    ({"matches": [{"golden": 1, "candidate": 1, "kind": "same", "reason": "a"}]}, (),
     ["matches[0].kind: Input should be 'match' or 'partial'"]),
    ({"matches": [{"golden": 1, "candidate": 1, "kind": "match"}]}, (), ["matches[0].reason: Field required"]),
    ({"pairs": []}, (), ["the input must be an object with a 'matches' list (empty when nothing matches)"]),
])
def test_parse_judgment(raw, links, errors):
    assert parse_judgment(raw, 2, 2) == (links, errors)


class Scripted:
    """A transport that answers with the given replies, in order, and keeps the requests."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.requests: list[dict] = []

    async def send(self, request, on_first_byte=None):
        self.requests.append(copy.deepcopy(request))
        r = self.replies.pop(0)
        if isinstance(r, Exception):
            raise r
        content, stop = r
        return Reply(tuple(content), stop, Usage(100, 0, 0, 900, 50), request["model"], 1.0, 1.1, 1.5)


def use(tid: str, matches, name: str = JUDGE_TOOL_NAME) -> dict:
    return {"type": "tool_use", "id": tid, "name": name, "input": {"matches": matches}}


THINKING = {"type": "thinking", "thinking": "", "signature": "sig-abc"}
GOOD = [{"golden": 1, "candidate": 1, "kind": "match", "reason": "both: float money"}]


def run(transport, candidates=CANDS):
    return asyncio.run(judge_pr(transport, "claude-opus-5-5", "PR", "acme/a", GOLDEN, candidates))


def test_a_valid_answer_in_one_call():
    t = Scripted(([THINKING, use("t1", GOOD)], "tool_use"))
    r = run(t)
    assert r.error is None and r.links == (Link(1, 1, "match", "both: float money"),)
    assert [c.label for c in r.calls] == ["judge#1"] and r.calls[0].usage.cache_read == 900


def test_an_invalid_answer_goes_back_once_as_an_error_result():
    bad = [{"golden": 9, "candidate": 1, "kind": "match", "reason": "x"}]
    t = Scripted(([THINKING, use("t1", bad)], "tool_use"), ([use("t2", GOOD)], "tool_use"))
    r = run(t)
    assert r.links == (Link(1, 1, "match", "both: float money"),) and len(r.calls) == 2
    second = t.requests[1]["messages"]
    assert second[0] == t.requests[0]["messages"][0]
    assert second[1] == {"role": "assistant", "content": [THINKING, use("t1", bad)]}   # sent back as returned
    [result] = second[2]["content"]
    assert result["tool_use_id"] == "t1" and result["is_error"] is True
    assert "there is no golden comment 9 (1 to 2)" in result["content"]


def test_still_invalid_after_one_correction_keeps_the_valid_matches():
    mixed = GOOD + [{"golden": 1, "candidate": 7, "kind": "match", "reason": "x"}]
    t = Scripted(([use("t1", mixed)], "tool_use"), ([use("t2", mixed)], "tool_use"))
    r = run(t)
    assert r.error is None and r.links == (Link(1, 1, "match", "both: float money"),)
    assert "still invalid after one correction" in r.notes[0]


def test_a_reply_in_plain_text_is_nudged_once():
    t = Scripted(([{"type": "text", "text": "They match."}], "end_turn"), ([use("t2", [])], "tool_use"))
    r = run(t)
    assert r.error is None and r.links == () and len(r.calls) == 2
    assert "submit_judgment" in t.requests[1]["messages"][-1]["content"][-1]["text"]
    t = Scripted(([{"type": "text", "text": "a"}], "end_turn"), ([{"type": "text", "text": "b"}], "end_turn"))
    assert run(t).error == "the judge did not call submit_judgment"


def test_failures_are_reported_not_raised():
    assert run(Scripted(([], "refusal"))).error == "the judge returned nothing (stop_reason refusal)"
    r = run(Scripted(APIError("Anthropic API error 529: Overloaded")))
    assert r.error == "Anthropic API error 529: Overloaded" and r.calls == []
    with pytest.raises(CredentialsError):                       # a refused key stops the whole run
        run(Scripted(CredentialsError("Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY")))


def test_no_findings_no_call():
    t = Scripted()
    r = run(t, candidates=())
    assert r.links == () and r.calls == [] and t.requests == [] and r.error is None
