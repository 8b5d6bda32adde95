"""What today's API does, replayed: thinking on by default (Sonnet 5.5), refusals, a stream that
drops or sends an SSE error half-way, max_tokens running out inside the thinking, and mixed effort.

Each cassette was recorded against cachesim (model claude-sonnet-5-5, thinking adaptive by default)
with the fault plan or setting named in the test; `python tests/rerecord.py` records them again. A
dropped connection is kept as the bytes that arrived (tests/cassette.py, recording_http_client),
so the replay sees the same broken body. cachesim answers every mistake the real API rejects with a
400 (a thinking block modified or left out, an empty assistant turn, a tool_use without its
result); a recording that got one would hold it, and each test checks that none does.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
import yaml
from cassette import CASSETTES, api_key, api_url, cassette, recording_http_client, reset_cachesim
from corpus import clone

from reviewbot.change.gitsource import read_local_change
from reviewbot.config import Config
from reviewbot.llm.anthropic_transport import AnthropicTransport, make_client
from reviewbot.pipeline.review import run_review

BASE = Config(routing="all", max_retries=2, stall_seconds=20)


def _review(tmp_path, name: str, config: Config = BASE, settings: dict | None = None, sub: str = "a"):
    repo, _ = clone("unidiff-126", tmp_path / sub)
    change = read_local_change(repo, "base", "pr")
    reset_cachesim(settings)

    async def go():
        client = make_client(api_key(), api_url(), config.max_retries, 60, http_client=recording_http_client(),
                             stall_seconds=config.stall_seconds)
        async with client:
            return await run_review(change, config, AnthropicTransport(client, stall_seconds=config.stall_seconds),
                                    tmp_path / sub / "ws")
    with cassette(f"test_live_api_{name}.yaml"):
        return asyncio.run(go())


def _interactions(name: str) -> list[tuple[dict, int, str]]:
    """(request body, status, response body) of every /v1/messages call in a cassette."""
    data = yaml.safe_load((CASSETTES / f"test_live_api_{name}.yaml").read_text())
    out = []
    for i in data["interactions"]:
        body = i["request"]["body"]
        body = body if isinstance(body, str) else (body or {}).get("string", "")
        out.append((json.loads(body), i["response"]["status"]["code"], i["response"]["body"]["string"]))
    return out


def _key(findings):
    return sorted((f.fingerprint, f.line, f.severity) for f in findings)


def _sse_message(text: str) -> dict:
    """The message an SSE body builds up to (content blocks with their final text and signature)."""
    msg, blocks = None, {}
    for chunk in text.split("\n\n"):
        data = next((ln[6:] for ln in chunk.splitlines() if ln.startswith("data: ")), None)
        if not data:
            continue
        ev = json.loads(data)
        if ev["type"] == "message_start":
            msg = ev["message"]
        elif ev["type"] == "content_block_start":
            blocks[ev["index"]] = dict(ev["content_block"])
        elif ev["type"] == "content_block_delta":
            b, d = blocks[ev["index"]], ev["delta"]
            if d["type"] == "thinking_delta":
                b["thinking"] = b.get("thinking", "") + d["thinking"]
            elif d["type"] == "signature_delta":
                b["signature"] = d["signature"]
            elif d["type"] == "input_json_delta":
                b["_json"] = b.get("_json", "") + d["partial_json"]
            elif d["type"] == "text_delta":
                b["text"] = b.get("text", "") + d["text"]
        elif ev["type"] == "message_delta":
            msg["stop_reason"] = ev["delta"]["stop_reason"]
    if msg is not None:
        msg["content"] = [blocks[i] for i in sorted(blocks)]
    return msg


def test_thinking_blocks_go_back_exactly_as_returned(tmp_path):
    # No patch pre-read: every reviewer reads its files itself, so each sends its turns back.
    result = _review(tmp_path, "thinking", replace(BASE, preload_chars=0))
    assert result.complete and result.findings
    calls = _interactions("thinking")
    assert all(status == 200 for _, status, _ in calls)                    # no 400: nothing was altered
    assert all(r["model"] == "claude-sonnet-5-5" and "thinking" not in r for r, _, _ in calls)
    replies = {}
    for _req, _, body in calls:
        msg = _sse_message(body)
        replies[msg["id"]] = msg
    echoed = 0
    for req, _, _ in calls:
        for m in req["messages"]:
            assert m["content"] not in ("", []) or m["role"] == "system"   # never an empty assistant turn
            if m["role"] == "assistant" and m["content"][0]["type"] == "thinking":
                sent = m["content"][0]
                original = next(b for r in replies.values() for b in r["content"]
                                if b.get("signature") == sent["signature"])
                assert sent == {"type": "thinking", "thinking": original.get("thinking", ""),
                                "signature": original["signature"]}
                echoed += 1
    assert echoed >= 7
    assert sum(c.usage.thinking_tokens for c in result.calls) > 0
    # each agent at the default effort policy's level, else Sonnet 5.5's default (high)
    assert all(c.effort == (Config().effort_for(c.label.split("#")[0]) or "high") for c in result.calls
               if c.label.split("#")[0] != "prewarm")


def test_a_dropped_stream_and_an_sse_error_are_retried_and_change_nothing(tmp_path):
    clean = _review(tmp_path, "clean", sub="clean")
    plan = [{"match": {"nth": 1}, "midstream": {"after_events": 3, "action": "drop"}},
            {"match": {"nth": 4}, "midstream": {"after_events": 4, "action": "error", "error": "overloaded_error"}}]
    faulty = _review(tmp_path, "faults", settings={"fault_plan": plan}, sub="faulty")
    assert faulty.complete and _key(faulty.findings) == _key(clean.findings)
    broken = [c for c in faulty.calls if c.broken]
    assert len(broken) == 2 and {"the body ended before message_stop" in c.broken for c in broken} == {True, False}
    assert any("error event" in c.broken for c in broken)
    # every billed call is listed: the broken ones and their retries
    assert len(faulty.calls) == len(clean.calls) + 2
    leader = [c for c in faulty.calls if c.label == "security#1"]
    assert leader[0].broken and leader[0].usage.cache_write > 0          # the first attempt wrote the prefix
    assert leader[1].usage.cache_read >= leader[0].usage.cache_write     # and the retry read it
    assert all(status == 200 for _, status, _ in _interactions("faults"))


def test_a_refusal_is_retried_on_the_fallback_model(tmp_path):
    plan = [{"match": {"nth": 3}, "refusal": True, "category": "cyber"}]
    result = _review(tmp_path, "refusal", replace(BASE, fallback_model="claude-opus-5-5"),
                     settings={"fault_plan": plan})
    assert result.complete
    refused = [c for c in result.calls if c.refusal]
    assert len(refused) == 1 and refused[0].stop_reason == "refusal" and not refused[0].billed
    fb = [c for c in result.calls if c.fallback]
    agent = refused[0].label.split("#")[0]
    assert fb and {c.model for c in fb} == {"claude-opus-5-5"} and fb[0].label.startswith(agent)
    status = {a.name: a for a in result.agents}[agent]
    assert status.status == "ok" and any("fallback model claude-opus-5-5" in n for n in status.notes)
    calls = _interactions("refusal")
    assert all(status == 200 for _, status, _ in calls)
    # the refused turn was not sent back: no later request of that agent has an empty assistant turn
    assert not any(m["role"] == "assistant" and not m["content"] for r, _, _ in calls for m in r["messages"])


def test_a_refusal_without_fallback_is_a_labelled_partial_review(tmp_path):
    plan = [{"match": {"nth": 2}, "refusal": True, "category": "bio"}]
    result = _review(tmp_path, "refusal_partial", settings={"fault_plan": plan})
    assert not result.complete
    failed = [a for a in result.agents if a.status == "failed"]
    assert len(failed) == 1 and "refused by claude-sonnet-5-5 (category: bio)" in failed[0].error
    assert result.summary.status == "ok" and result.findings             # the others' findings are kept
    assert all(status == 200 for _, status, _ in _interactions("refusal_partial"))
    summary_req = [r for r, _, _ in _interactions("refusal_partial")
                   if "summary reviewer" in json.dumps(r["messages"][3:])][0]
    assert failed[0].name + " (refused" in json.dumps(summary_req)      # the summary is told who did not finish


def test_max_tokens_inside_the_thinking_is_asked_again_with_a_larger_budget(tmp_path):
    # uniform high (1,500 thinking tokens +-20%): every reviewer's thinking outgrows 1,200
    result = _review(tmp_path, "max_tokens", replace(BASE, max_output_tokens=1200, effort_policy=False))
    calls = _interactions("max_tokens")
    assert all(status == 200 for _, status, _ in calls)
    cut = [(r, _sse_message(b)) for r, _, b in calls if _sse_message(b)["stop_reason"] == "max_tokens"]
    assert cut and all([blk["type"] for blk in m["content"]] == ["thinking"] for _, m in cut)
    assert all(r["max_tokens"] in (1200, 2400) for r, _, _ in calls)
    assert any(r["max_tokens"] == 2400 for r, _, _ in calls)
    for req, _, _ in calls:                       # a cut turn is never sent back
        for m in req["messages"]:
            if m["role"] == "assistant":
                assert any(b["type"] == "tool_use" for b in m["content"])
    notes = [n for a in result.agents for n in a.notes]
    assert any("hit max_tokens (1200); asked again with 2400" in n for n in notes)


def test_mixed_effort_keeps_one_cached_prefix_and_costs_less_output(tmp_path):
    mixed = replace(BASE, specialist_effort=(("documentation", "low"), ("release", "low"), ("rules", "low"),
                                             ("performance", "medium"), ("security", "high"),
                                             ("correctness", "high")), summary_effort="medium")
    result = _review(tmp_path, "mixed_effort", mixed, sub="mixed")
    uniform = _review(tmp_path, "uniform_high", replace(BASE, effort="high"), sub="uniform")
    assert result.complete and uniform.complete
    by = {c.label: c for c in result.calls}
    assert by["documentation#1"].effort == "low" and by["security#1"].effort == "high"
    assert by["summary#1"].effort == "medium"
    writes = [c for c in result.calls if c.usage.cache_write > 0]
    assert len(writes) == 1                                               # one write of the shared prefix
    shared = writes[0].usage.cache_write
    assert all(c.usage.cache_read >= shared for c in result.calls if c is not writes[0])
    out = sum(c.usage.output_tokens for c in result.calls)
    assert out < sum(c.usage.output_tokens for c in uniform.calls)
    reqs = [r for r, _, _ in _interactions("mixed_effort")]
    effort_msgs = [m for r in reqs for m in r["messages"] if m["role"] == "system"]
    assert effort_msgs and all(m == {"role": "system", "content": [], "output_config": {"effort": m["output_config"]
                                                                                     ["effort"]}} for m in effort_msgs)
    assert all("output_config" not in r for r in reqs)                    # no top-level effort: the default


@pytest.mark.parametrize("model", ["claude-sonnet-5", "claude-haiku-5-5"])
def test_without_per_message_effort_one_effort_for_the_whole_review(tmp_path, model):
    from helpers import change, file_change

    from reviewbot.agents.requests import build_request, effort_in_force
    from reviewbot.pipeline.review import prepare
    cfg = replace(BASE, model=model, specialist_effort=(("documentation", "low"),))
    _, prefix = prepare(change(file_change("src/app.py")), cfg, tmp_path / "ws")
    req = build_request(prefix, "d", [], 100, "low").body
    assert not any(m["role"] == "system" for m in req["messages"])
    assert effort_in_force(prefix, "low") == ("high" if model == "claude-sonnet-5" else "medium")
