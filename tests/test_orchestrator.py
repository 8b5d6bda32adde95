"""The orchestrator and agent loop against a scripted transport (the client is passed in).

Covers what cassettes of a well-behaved model cannot: the leader gating the fan-out, tool errors
going back to the model, one correction of an invalid submission, a failing specialist, a failing
summary, and every specialist failing.
"""
import asyncio

import pytest
from helpers import change, file_change, model_finding, submit

from reviewbot.config import Config
from reviewbot.domain.events import LeaderFailed
from reviewbot.errors import APIError
from reviewbot.pipeline.review import run_review


@pytest.fixture
def review(tmp_path, scripted):
    """review(script, config): a review of one file against the scripted transport; (result, transport)."""
    def run(script, config=None):
        config = config or Config(max_retries=0, routing="all")
        t = scripted(script)
        return asyncio.run(run_review(change(file_change("src/app.py")), config, t, tmp_path / "ws")), t
    return run


def test_leader_runs_alone_until_its_first_byte(tmp_path, review):
    result, t = review({"*": submit(model_finding())})
    assert t.log[0] == ("start", "security") and t.log[1] == ("first_byte", "security")
    assert {w for e, w in t.log[2:] if e == "start"} >= {"correctness", "performance", "summary"}
    assert result.complete and len(result.calls) == 8


def test_prewarm_sends_one_max_tokens_zero_call_first(tmp_path, scripted):
    t = scripted({"*": submit(model_finding())})
    result = asyncio.run(run_review(change(), Config(warmup="prewarm", routing="all"), t, tmp_path / "ws"))
    assert t.log[0] == ("warm", None) and result.calls[0].label == "prewarm"


def test_tool_errors_go_back_to_the_model_and_it_recovers(tmp_path, review):
    def correctness(turn, request):
        if turn == 1:
            return [{"type": "tool_use", "id": "r1", "name": "read_file", "input": {"path": "../../etc/passwd"}},
                    {"type": "tool_use", "id": "r2", "name": "read_file",
                     "input": {"path": "diff/001-src__app.py.patch"}}]
        if turn == 2:
            results = request["messages"][-1]["content"]
            assert results[0]["is_error"] is True and "not allowed" in results[0]["content"]
            assert "is_error" not in results[1] and "+++ b/src/app.py" in results[1]["content"]
            assert results[-1]["cache_control"] == {"type": "ephemeral"}      # breakpoint 3 moved here
            return submit(model_finding(line="ten"))
        results = request["messages"][-1]["content"]
        assert results[0]["is_error"] is True and "'line' must be a non-negative integer" in results[0]["content"]
        return submit(model_finding(line=11, title="Fixed"))
    result, t = review({"correctness": correctness, "*": submit()})
    status = {a.name: a for a in result.agents}
    assert status["correctness"].status == "ok" and status["correctness"].findings == 1
    assert [f.title for f in result.findings] == ["Fixed"]


def test_a_failing_specialist_is_named_and_the_rest_is_kept(tmp_path, review):
    result, _ = review({"performance": APIError("Anthropic API error 529: Overloaded"),
                                "*": submit(model_finding())})
    status = {a.name: a for a in result.agents}
    assert status["performance"].status == "failed" and "529" in status["performance"].error
    assert not result.complete and result.findings


def test_a_failing_summary_keeps_the_merged_findings(tmp_path, review):
    result, _ = review({"summary": APIError("Anthropic API error 500: boom"), "*": submit(model_finding())})
    assert result.summary.status == "failed" and result.overview is None and not result.complete
    assert len(result.findings) == 1 and result.findings[0].also_flagged_by
    assert result.verdict == "minor_issues"                 # derived from the severities


def test_every_specialist_failing_is_an_api_error(tmp_path, review):
    with pytest.raises(APIError, match="401"):
        review({"*": APIError("Anthropic API error 401: invalid x-api-key")})


def test_a_model_that_never_submits_is_nudged_once_then_stopped(tmp_path, review):
    text = [{"type": "text", "text": "I think it is fine."}]
    result, t = review({"documentation": text, "*": submit()})
    doc = {a.name: a for a in result.agents}["documentation"]
    assert doc.status == "failed" and "without calling submit_findings" in doc.error
    assert len([1 for w, _, _ in t.requests if w == "documentation"]) == 2


def test_turns_are_bounded(tmp_path, review):
    read = [{"type": "tool_use", "id": "r", "name": "read_file", "input": {"path": "shared-mr-context.txt"}}]
    result, t = review({"maintainability": read, "*": submit()}, Config(max_turns=3, routing="all"))
    m = {a.name: a for a in result.agents}["maintainability"]
    assert m.status == "failed" and "3 turns" in m.error


def test_a_refused_key_stops_the_run_at_the_first_call(tmp_path, scripted):
    from reviewbot.errors import CredentialsError
    t = scripted({"*": CredentialsError("Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY")})
    with pytest.raises(CredentialsError, match="401"):
        asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws"))
    assert len(t.requests) == 1                     # the leader only: nothing else was sent


@pytest.mark.parametrize("error", [APIError("Anthropic API error 529: Overloaded", 529),
                                   APIError("Anthropic API error 400: bad", 400),
                                   APIError("cannot reach the Anthropic API: connection failed", None, "connection"),
                                   APIError("Anthropic API timed out", None, "timeout")])
def test_a_leader_failing_before_its_first_event_fails_the_run_at_once(tmp_path, error, scripted):
    t = scripted({"security": error, "*": submit(model_finding())})
    events = []
    with pytest.raises(APIError) as e:
        asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws", events.append))
    assert e.value is error and LeaderFailed("security", 6) in events
    assert [w for w, _, _ in t.requests] == ["security"]      # no one-by-one hand-over


def test_a_leader_failure_of_its_own_request_fans_out_the_others(tmp_path, scripted):
    t = scripted({"security": APIError("Anthropic API error 413: request too large", 413),
                           "*": submit(model_finding())})
    result = asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws"))
    starts = [w for e, w in t.log if e == "start"]
    assert starts[0] == "security" and len(set(starts)) == 8
    assert {a.name: a.status for a in result.agents}["security"] == "failed" and not result.complete
    assert any("failed before its first event" in n for n in result.notes)


def test_an_unexpected_exception_fails_one_agent_only(tmp_path, review):
    def boom(turn, request):
        raise KeyError("surprise")
    result, _ = review({"performance": boom, "*": submit(model_finding())})
    status = {a.name: a for a in result.agents}
    assert status["performance"].status == "failed" and "internal error: KeyError" in status["performance"].error
    assert status["security"].status == "ok" and result.summary.status == "ok"


def test_nothing_to_verify_calls_no_summary_agent_and_derives_the_verdict(tmp_path, review):
    result, t = review({"*": submit()})
    assert "summary" not in {who for who, _, _ in t.requests}           # no call, no cost
    assert result.summary is None and result.verdict == "no_issues" and result.complete
    assert any("summary agent was not run: nothing to verify" in n for n in result.notes)


def test_one_finding_to_verify_still_calls_the_summary_agent(tmp_path, review):
    result, t = review({"security": submit(model_finding()), "*": submit()})
    assert [who for who, _, _ in t.requests].count("summary") == 1
    assert result.summary.status == "ok"
