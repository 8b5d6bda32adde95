"""Budget, ITPM pacing and keep-warm: the pure decisions, then the orchestrator with a slow agent."""
import asyncio

from helpers import change, file_change, model_finding, submit

from reviewbot.agents.requests import Request
from reviewbot.config import Config
from reviewbot.llm.transport import Reply
from reviewbot.llm.usage import CallRecord, Usage, call_cost
from reviewbot.pipeline.review import run_review
from reviewbot.pipeline.schedule import Budget, budget_exceeded, keep_warm_due, pacing_delay


def rec(inp=1000, out=100, model="claude-sonnet-4-6"):
    return CallRecord("x", model, Usage(inp, 0, 0, 0, out), 0, 0, 0)


def test_budget_by_calls_tokens_and_dollars():
    records = [rec(), rec()]
    assert budget_exceeded(records, Budget()) is None
    assert budget_exceeded(records, Budget(calls=2)) == "budget of 2 calls reached"
    assert "tokens" in budget_exceeded(records, Budget(tokens=2000))
    assert budget_exceeded(records, Budget(tokens=3000)) is None
    assert "$0.01" in budget_exceeded(records, Budget(dollars=0.008))    # 2 x (3000 + 1500) / 1e6 = $0.009
    assert budget_exceeded(records, Budget(dollars=0.01)) is None
    assert budget_exceeded(records, Budget(calls=3), dispatched=3) == "budget of 3 calls reached"


def test_pacing_waits_for_the_window_to_roll():
    assert pacing_delay([], 0, 5000, 0) == 0                          # no limit
    assert pacing_delay([(0.0, 4000)], 10.0, 1000, 5000) == 0         # fits
    assert pacing_delay([(0.0, 4000), (5.0, 1000)], 10.0, 2000, 5000) == 50.0   # first entry leaves at 60
    assert pacing_delay([(0.0, 4000)], 70.0, 4000, 5000) == 0         # rolled out already
    assert pacing_delay([(1.0, 100)], 2.0, 9000, 5000) == 59.0        # too big: waits for an empty window


def test_keep_warm_decisions():
    assert keep_warm_due(now=250, last_use=0, ttl=300) and not keep_warm_due(now=200, last_use=0, ttl=300)


def test_keep_warm_refreshes_the_prefix_while_a_slow_specialist_runs(tmp_path, scripted):
    # performance takes longer than 0.8 x the 0.5 s TTL; every call reads the cached prefix
    t = scripted({"*": submit(model_finding())}, usage=Usage(0, 0, 0, 500, 5), slow={"performance": 0.6})
    cfg = Config(routing="all", cache_ttl_seconds=0.5)
    result = asyncio.run(run_review(change(), cfg, t, tmp_path / "ws"))
    labels = [c.label for c in result.calls]
    assert "keep-warm" in labels
    warm = [r for w, _, r in t.requests if r["max_tokens"] == 0]
    assert warm and "cache_control" in str(warm[0]["system"])
    assert result.schedule.within_ttl, result.schedule.dispatch_offsets


def test_no_keep_warm_when_the_prefix_is_not_cacheable(tmp_path, scripted):
    t = scripted({"*": submit(model_finding())}, start_usage=Usage(500, 0, 0, 0, 0), usage=Usage(500, 0, 0, 0, 5),
                 slow={"performance": 0.6})
    result = asyncio.run(run_review(change(), Config(routing="all", cache_ttl_seconds=0.5), t, tmp_path / "ws"))
    assert "keep-warm" not in [c.label for c in result.calls]
    assert not [r for _, _, r in t.requests if r["max_tokens"] == 0]


def test_budget_stops_cleanly_with_a_labelled_partial_review(tmp_path, scripted):
    t = scripted({"*": submit(model_finding())})
    result = asyncio.run(run_review(change(file_change("src/app.py")), Config(routing="all", budget_calls=3),
                                    t, tmp_path / "ws"))
    failed = [a for a in result.agents if a.status == "failed"]
    assert failed and all("budget of 3 calls reached" in a.error for a in failed)
    assert result.summary.status == "failed" and not result.complete
    assert result.findings                                    # what was paid for is kept
    assert len(result.calls) == 3                             # nothing starts once the budget is spent


def test_runner_paces_under_the_itpm_limit_and_counts_only_uncached_input():
    from reviewbot.pipeline.schedule import Runner

    now = [0.0]
    waits = []

    async def fake_sleep(s):
        waits.append(s)
        now[0] += s

    class T:
        async def send(self, request, on_start=None):
            cached = request["label"] != "first"
            usage = Usage(50, 0, 0, 3000, 10) if cached else Usage(100, 3000, 0, 0, 10)
            return Reply((), "end_turn", usage, M, now[0], now[0], now[0])

    M = "claude-sonnet-4-6"        # the old tokenizer: 3 characters a token, as this test counts
    big = {"model": M, "label": "first", "messages": [{"content": [{"type": "text", "text": "x" * 9000}]}]}
    small = {"model": M, "label": "next", "messages": [
        {"content": []}, {"content": []}, {"content": [{"type": "tool_result", "content": "y" * 9000}]},
        {"content": [{"type": "text", "text": "delta" * 20}]}]}
    big, small, next2 = Request(big, 0, None), Request(small, 3, None), Request(big | {"label": "next2"}, 0, None)
    runner = Runner(T(), lambda m: None, itpm_limit=3500, clock=lambda: now[0], sleep=fake_sleep)

    async def go():
        await runner.send(big, "first")          # ~3000 uncached tokens: fits alone
        await runner.send(small, "a")            # prefix now cached: only the delta counts, no wait
        await runner.send(next2, "b")            # would pass 3500 in the minute: waits
    asyncio.run(go())
    assert len(waits) == 1 and 55 <= waits[0] <= 60


def test_the_followers_wait_for_a_budget_that_covers_them(tmp_path, scripted):
    """Estimated from the leader's message_start usage: six more reviewers and the summary, at
    Sonnet 5.5's thinking estimate, do not fit in $0.05, so only the leader (and the summary) run."""
    t = scripted({"*": submit(model_finding())})
    result = asyncio.run(run_review(change(file_change("src/app.py")), Config(routing="all", budget_dollars=0.05),
                                    t, tmp_path / "ws"))
    started = {w for e, w in t.log if e == "start"}
    assert started == {"security", "summary"}
    assert not result.complete and "budget of $0.05 does not cover it" in result.partial_reason
    failed = [a for a in result.agents if a.status == "failed"]
    assert len(failed) == 6 and all(a.error.startswith("not started: the budget") for a in failed)
    assert any(n.startswith("budget: 6 reviewer(s) not started") for n in result.notes)
    assert sum(call_cost(c) for c in result.calls) <= 0.05


def test_calls_in_flight_count_against_the_budget():
    from reviewbot.errors import BudgetExceeded
    from reviewbot.pipeline.schedule import Runner
    runner = Runner(None, lambda m: None, Budget(dollars=0.01))
    request = Request({"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}]},
                      0, "high")
    assert runner._check_budget(request) > 0                 # nothing in flight: one call may go
    runner.inflight[1] = 0.009
    import pytest
    with pytest.raises(BudgetExceeded, match="would be passed"):
        runner._check_budget(request)


def test_the_deadline_ends_a_labelled_partial_review_and_keeps_what_finished(tmp_path, scripted):
    t = scripted({"*": submit(model_finding())}, slow={"performance": 30})
    import time as _time
    start = _time.monotonic()
    result = asyncio.run(run_review(change(file_change("src/app.py")), Config(routing="all", deadline_seconds=0.5),
                                    t, tmp_path / "ws", keep_state=True))
    assert _time.monotonic() - start < 3
    assert not result.complete and "deadline (0.5s) was reached" in result.partial_reason
    status = {a.name: a for a in result.agents}
    assert status["performance"].status == "failed" and "deadline" in status["performance"].error
    assert status["security"].status == "ok" and status["correctness"].status == "ok"
    assert result.summary.status == "failed" and "deadline" in result.summary.error
    assert result.findings                                    # the finished agents' findings are kept
    saved = sorted(p.stem for p in (tmp_path / "ws" / "state").glob("*.json"))
    assert "security" in saved and "performance" not in saved
