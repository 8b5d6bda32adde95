"""Batch mode without the network: the assembly of batch items (pure) and the queue's rounds, over a
stand-in for the Message Batches client."""
import asyncio
import json
import re
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from helpers import model_finding, submit

from reviewbot.agents.requests import Prefix, build_request
from reviewbot.change.ranges import parse_range
from reviewbot.cli import main
from reviewbot.commands.bulk_run import exit_code
from reviewbot.config import Config
from reviewbot.domain.events import BatchEnded, BatchSubmitted
from reviewbot.errors import APIError, ConfigError
from reviewbot.llm.batches import BatchInfo, ItemResult
from reviewbot.llm.models import BETA_PER_MESSAGE_EFFORT
from reviewbot.llm.transport import Reply
from reviewbot.llm.usage import CallRecord, Usage, call_cost, factor, interactive_cost, usage_json
from reviewbot.pipeline.batch import (
    ITEM_FAILURE,
    BatchQueue,
    BatchTransport,
    assemble,
    batch_config,
    batch_params,
    custom_id,
)


def _prefix(effort=None):
    return Prefix(model="claude-sonnet-5-5", system_text="You review code.", opening="Review this.",
                  reads=(("shared-mr-context.txt", "context"), ("diff/001-a.py.patch", "+x = 1\n")), effort=effort)


def _ccs(node):
    if isinstance(node, dict):
        own = [node["cache_control"]] if "cache_control" in node else []
        return own + [c for v in node.values() for c in _ccs(v)]
    if isinstance(node, list):
        return [c for v in node for c in _ccs(v)]
    return []


def _strip(node):
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "cache_control"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def test_batch_params_put_every_breakpoint_at_one_hour_and_keep_the_rest_byte_identical():
    history = [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file",
                                                   "input": {"path": "a.py"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}]
    request = build_request(_prefix(), "you are security", history, 4000).body
    params = batch_params(request)
    assert len(_ccs(request)) == 4 and any(cc.get("ttl") != "1h" for cc in _ccs(request))
    assert _ccs(params) == [{"type": "ephemeral", "ttl": "1h"}] * 4
    assert _strip(params) == _strip(request)                 # nothing else changed
    assert _ccs(request)[1] == {"type": "ephemeral"}         # the interactive request is not touched


def test_batch_params_turn_an_agents_own_effort_into_its_top_level_effort():
    request = build_request(_prefix(effort="high"), "you are release", [], 4000, effort="low").body
    assert any(m["role"] == "system" for m in request["messages"])      # the interactive form (a beta)
    params = batch_params(request)
    assert params["output_config"] == {"effort": "low"}
    assert all(m["role"] != "system" for m in params["messages"])
    assert _strip(params["messages"]) == _strip([m for m in request["messages"] if m["role"] != "system"])
    assert assemble([("a", params)])[1] == []                # so no item needs a beta header
    same = batch_params(build_request(_prefix(effort="high"), "you are release", [], 4000).body)
    assert same["output_config"] == {"effort": "high"} and len(same["messages"]) == len(params["messages"])


def test_custom_ids_are_deterministic_valid_and_distinct():
    a = batch_params(build_request(_prefix(), "security", [], 4000).body)
    b = batch_params(build_request(_prefix(), "correctness", [], 4000).body)
    assert custom_id("r001", a) == custom_id("r001", batch_params(build_request(_prefix(), "security", [], 4000).body))
    assert custom_id("r001", a) != custom_id("r001", b) != custom_id("r002", b)
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", custom_id("r001", p)) for p in (a, b))


def test_assemble_sorts_dedupes_and_collects_betas():
    beta = {"messages": [{"role": "system", "content": [], "output_config": {"effort": "low"}}]}
    items, betas = assemble([("b", {"x": 1}), ("a", beta), ("b", {"x": 1})])
    assert [cid for cid, _ in items] == ["a", "b"] and betas == [BETA_PER_MESSAGE_EFFORT]


def test_batch_config_has_no_leader_a_1h_base_and_the_batch_deadline():
    c = batch_config(Config())
    assert c.warmup == "none" and c.base_ttl == "1h"
    assert c.cache_ttl_seconds == 12 * Config().cache_ttl_seconds and c.deadline_seconds >= 24 * 3600


def _reply(text):
    return Reply(({"type": "text", "text": text},), "end_turn", Usage(input_tokens=10, output_tokens=5), "m",
                 0.0, 1.0, 1.0, "msg_" + text, batch=True)


class FakeBatches:
    """Answers each item with a reply naming its round, or errors the ids in `errored`."""

    def __init__(self, errored=(), fail=None):
        self.rounds, self.errored, self.fail = [], set(errored), fail

    async def run(self, items, betas=(), on_event=lambda m: None):
        if self.fail:
            raise self.fail
        self.rounds.append([cid for cid, _ in items])
        n = len(self.rounds)
        return BatchInfo(f"b{n}", 0.0, 1.0, 0), {
            cid: ItemResult(cid, "errored", error="batch item errored: overloaded_error: Overloaded", status=529)
            if params.get("tag") in self.errored else ItemResult(cid, "succeeded", _reply(f"{params['tag']}@{n}"))
            for cid, params in items}


class NoInteractive:
    async def send(self, request, on_start=None):
        raise AssertionError("no interactive call expected")

    async def count_tokens(self, request):
        raise AssertionError


def _req(tag):
    return {"model": "m", "max_tokens": 10, "tag": tag, "messages": []}


def test_the_queue_sends_every_waiting_turn_as_one_batch_and_later_turns_in_the_next():
    fake = FakeBatches()

    async def agent(t, name, turns):
        got = []
        for i in range(turns):
            await asyncio.sleep(0)                      # local work between turns (tools)
            got.append((await t.send(_req(f"{name}{i}"))).content[0]["text"])
        return got

    async def main():
        q = BatchQueue(fake, settle_seconds=0.01)
        r1, r2 = BatchTransport(q, "r001", NoInteractive()), BatchTransport(q, "r002", NoInteractive())
        out = await asyncio.gather(agent(r1, "a", 1), agent(r1, "b", 3), agent(r2, "c", 2))
        return out, q.batches
    out, batches = asyncio.run(main())
    assert out == [["a0@1"], ["b0@1", "b1@2", "b2@3"], ["c0@1", "c1@2"]]
    assert [len(r) for r in fake.rounds] == [3, 2, 1] and [n for _, n in batches] == [3, 2, 1]
    assert all(r == sorted(r) for r in fake.rounds)
    assert {cid.split("-")[0] for cid in fake.rounds[0]} == {"r001", "r002"}


def test_an_errored_item_fails_its_own_call_only_and_says_so():
    fake = FakeBatches(errored={"bad"})

    async def main():
        q = BatchQueue(fake, settle_seconds=0.01)
        t = BatchTransport(q, "r001", NoInteractive())
        return await asyncio.gather(t.send(_req("good")), t.send(_req("bad")), return_exceptions=True)
    good, bad = asyncio.run(main())
    assert good.content[0]["text"] == "good@1" and good.batch
    assert isinstance(bad, APIError) and bad.kind == ITEM_FAILURE and bad.status == 529
    assert "overloaded_error" in str(bad)


def test_a_batch_that_cannot_be_created_fails_every_waiting_call():
    fake = FakeBatches(fail=APIError("Anthropic API error 500: boom", 500))

    async def main():
        q = BatchQueue(fake, settle_seconds=0.01)
        t = BatchTransport(q, "r001", NoInteractive())
        return await asyncio.gather(t.send(_req("a")), t.send(_req("b")), return_exceptions=True)
    results = asyncio.run(main())
    assert all(isinstance(e, APIError) and e.kind == "status" for e in results)


def test_a_prewarm_goes_to_the_interactive_transport():
    class Interactive(NoInteractive):
        async def send(self, request, on_start=None):
            return _reply("interactive")

    async def main():
        q = BatchQueue(FakeBatches(), settle_seconds=0.01)
        return await BatchTransport(q, "r001", Interactive()).send({"model": "m", "max_tokens": 0})
    assert asyncio.run(main()).content[0]["text"] == "interactive"


def test_batch_calls_cost_half_and_the_usage_report_shows_the_discount():
    u = Usage(input_tokens=1000, cache_read=20000, output_tokens=3000)
    inter = CallRecord("security#1", "claude-sonnet-5-5", u, 0, 1, 2)
    batch = CallRecord("security#1", "claude-sonnet-5-5", u, 0, 1, 2, batch=True)
    assert call_cost(batch) == pytest.approx(call_cost(inter) / 2)
    assert interactive_cost(batch) == pytest.approx(call_cost(inter)) and factor(batch) == 0.5
    totals = usage_json((batch, inter))["totals"]
    assert totals["batch_calls"] == 1
    assert totals["batch_discount_usd"] == pytest.approx(call_cost(inter) / 2, abs=1e-6)
    assert usage_json((inter,))["totals"]["batch_discount_usd"] == 0


def test_bulk_ranges():
    assert parse_range("main..feature") == ("main", "feature")
    assert parse_range("abc123") == ("abc123^", "abc123")
    for bad in ("main...feature", "..x", "x..", ""):
        with pytest.raises(ConfigError):
            parse_range(bad)
    assert exit_code([], None) == 0


def test_own_efforts_are_kept_only_when_the_thinking_they_save_pays_for_the_extra_prefix_writes():
    from reviewbot.pipeline.batch import keeps_own_efforts, uniform_effort
    mixed = ["high", "high", "low", "low", "low"]                      # two levels: one extra prefix write
    assert keeps_own_efforts("claude-sonnet-5-5", 2_000, mixed, None, "1h") is True
    assert keeps_own_efforts("claude-sonnet-5-5", 100_000, mixed, None, "1h") is False
    # the 5-minute write is cheaper, so the break-even prefix is longer
    small, big = 3 * 1350 * 10 / 4, 3 * 1350 * 10 / 2.5                # saving / write price, in tokens
    assert keeps_own_efforts("claude-sonnet-5-5", int(small) + 50, mixed, None, "1h") is False
    assert keeps_own_efforts("claude-sonnet-5-5", int(small) + 50, mixed, None, "5m") is True
    assert keeps_own_efforts("claude-sonnet-5-5", int(big) + 50, mixed, None, "5m") is False
    assert keeps_own_efforts("claude-sonnet-5-5", 10**6, ["high", None, "high"], None, "1h") is True   # one level
    one = uniform_effort(Config(), ["low", "high", "medium"])
    assert one.effort is None and not one.effort_policy                # high is Sonnet 5.5's default
    assert {one.effort_for(n) for n in ("security", "release", "summary")} == {None}
    assert uniform_effort(Config(), ["low", "xhigh"]).effort == "xhigh"  # no agent thinks less than it would have


@pytest.mark.parametrize("argv,key,code,message", [
    (["nope..pr"], "k", 3, "nope..pr: unknown ref 'nope'"),
    (["base..pr"], "", 2, "ANTHROPIC_API_KEY is not set"),
    (["base...pr"], "k", 2, "not BASE...HEAD"),
    (["base..pr", "--poll-seconds", "0"], "k", 2, "--poll-seconds must be positive"),
])
def test_bulk_bad_input_is_one_line_and_an_exit_code(tmp_path, capsys, monkeypatch, argv, key, code, message):
    from corpus import clone
    from helpers import run_cli
    repo, _ = clone("unidiff-126", tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    got, out, err = run_cli(capsys, "bulk", "--repo", str(repo), "--out", str(tmp_path / "o"), *argv)
    assert (got, out) == (code, "") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_review_batch_does_not_resume(tmp_path, capsys, monkeypatch):
    from corpus import clone
    from helpers import run_cli
    repo, _ = clone("unidiff-126", tmp_path)
    kept = tmp_path / "kept"
    kept.mkdir()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    got, _, err = run_cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr", "--batch",
                          "--resume", str(kept))
    assert got == 2 and "--batch does not resume" in err


class ScriptedBatches:
    """A Batches that answers every item with the scripted transport (as a batch item: `batch=True`);
    `connect` is the ConnectBatches a command is passed."""

    def __init__(self, transport):
        self.transport, self.rounds, self.opened = transport, [], []

    async def run(self, items, betas=(), on_event=lambda e: None):
        n = len(self.rounds) + 1
        self.rounds.append([cid for cid, _ in items])
        on_event(BatchSubmitted(f"msgbatch_{n}", len(items)))
        results = {cid: ItemResult(cid, "succeeded", replace(await self.transport.send(params), batch=True))
                   for cid, params in items}
        on_event(BatchEnded(f"msgbatch_{n}", 0.0, len(items), 0, 0, 0))
        return BatchInfo(f"msgbatch_{n}", 0.0, 0.0, 0), results

    def connect(self, connection, poll_seconds):
        @asynccontextmanager
        async def opened():
            self.opened.append((connection, poll_seconds))
            yield self
        return opened()


def test_review_batch_opens_the_batches_client_it_is_passed_and_prices_each_call_at_half(tmp_path, monkeypatch,
                                                                                        capsys, scripted):
    patch = tmp_path / "change.patch"
    patch.write_text("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
                     "@@ -1,1 +1,2 @@\n x = 1\n+y = eval(x)\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")      # nothing listens: the SDK is never used
    t = scripted({"*": submit(model_finding(path="app.py", line=2))})
    batches = ScriptedBatches(t)
    code = main(["review", "--repo", str(tmp_path), "--diff", str(patch), "--format", "json", "--batch", "-v"],
                connect=t.connect, connect_batches=batches.connect)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert [c for c, _ in batches.opened] == [t.connection]              # one Connection for both
    assert len(batches.rounds) == 2 and len(batches.rounds[1]) == 1      # the specialists, then the summary
    calls = json.loads(out.out)["usage"]["calls"]
    assert calls and all(c["batch"] for c in calls)
    record = CallRecord("x", calls[0]["model"], t.usage, 0, 0, 0)
    assert calls[0]["cost_usd"] == pytest.approx(call_cost(record) / 2, abs=1e-6)
    # the running cost of the progress lines (Metered: CallFinished at the batch price) is the usage line's
    total = json.loads(out.out)["usage"]["totals"]["cost_usd"]
    assert f"{len(calls)} calls, ${total:.4f} so far" in out.err
    assert "batch msgbatch_1: " in out.err and f"cost ${total:.4f}" in out.err
