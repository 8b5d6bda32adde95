"""The orchestrator and agent loop against a scripted transport (the client is passed in).

Covers what cassettes of a well-behaved model cannot: the leader gating the fan-out, tool errors
going back to the model, one correction of an invalid submission, a failing specialist, a failing
summary, and every specialist failing.
"""
import asyncio
import time

import pytest
from helpers import change, file_change

from reviewbot.config import Config
from reviewbot.domain.events import LeaderFailed
from reviewbot.errors import APIError
from reviewbot.llm.transport import Reply, Start
from reviewbot.llm.usage import Usage
from reviewbot.pipeline.review import run_review


def _delta(request) -> str:
    """The agent's role and files: the first user message after the shared prefix (and any effort message)."""
    return next(m["content"][0]["text"] for m in request["messages"][3:] if m["role"] == "user")


def _who(request) -> str:
    return _delta(request).split("# Your role: ", 1)[1].split(" ", 1)[0].lower()


def _turn(request) -> int:
    return sum(1 for m in request["messages"][3:] if m["role"] == "assistant") + 1


def _finding(**kw):
    d = {"path": "src/app.py", "line": 10, "severity": "medium", "category": "bug", "title": "T",
         "explanation": "E", "confidence": 0.9}
    d.update(kw)
    return d


class ScriptedTransport:
    """Replies by agent (first word of its role title) and turn; records the order of events."""

    start_usage = Usage(10, 0, 0, 100, 0)          # the input side, as message_start reports it

    def __init__(self, script):
        self.script, self.log, self.requests = script, [], []

    async def send(self, request, on_first_byte=None):
        who, turn = _who(request), _turn(request)
        self.requests.append((who, turn, request))
        self.log.append(("start", who))
        await asyncio.sleep(0.01)
        step = self.script.get(who, self.script.get("*"))
        content = step(turn, request) if callable(step) else step
        if isinstance(content, Exception):
            raise content                                # an HTTP error comes before any event
        if on_first_byte:
            on_first_byte(Start(f"msg_{who}_{turn}", self.start_usage))
        self.log.append(("first_byte", who))
        t = time.monotonic()
        return Reply(tuple(content), "tool_use", Usage(10, 0, 0, 100, 5), request["model"], t, t, t,
                     f"msg_{who}_{turn}")


def submit(*findings, **extra):
    return [{"type": "tool_use", "id": "s1", "name": "submit_findings",
             "input": {"findings": list(findings), **extra}}]


def _run(tmp_path, script, config=Config(max_retries=0, routing="all")):
    t = ScriptedTransport(script)
    result = asyncio.run(run_review(change(file_change("src/app.py")), config, t, tmp_path / "ws"))
    return result, t


def test_leader_runs_alone_until_its_first_byte(tmp_path):
    result, t = _run(tmp_path, {"*": submit(_finding())})
    assert t.log[0] == ("start", "security") and t.log[1] == ("first_byte", "security")
    assert {w for e, w in t.log[2:] if e == "start"} >= {"correctness", "performance", "summary"}
    assert result.complete and len(result.calls) == 8


def test_prewarm_sends_one_max_tokens_zero_call_first(tmp_path):
    script = {"*": submit(_finding())}
    t = ScriptedTransport(script)
    orig = t.send

    async def send(request, on_first_byte=None):
        if request["max_tokens"] == 0:
            t.log.append(("prewarm", None))
            s = time.monotonic()
            return Reply((), "max_tokens", Usage(0, 100, 0, 0, 0), request["model"], s, s, s)
        return await orig(request, on_first_byte)
    t.send = send
    result = asyncio.run(run_review(change(), Config(warmup="prewarm", routing="all"), t, tmp_path / "ws"))
    assert t.log[0] == ("prewarm", None) and result.calls[0].label == "prewarm"


def test_tool_errors_go_back_to_the_model_and_it_recovers(tmp_path):
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
            return submit(_finding(line="ten"))
        results = request["messages"][-1]["content"]
        assert results[0]["is_error"] is True and "'line' must be a non-negative integer" in results[0]["content"]
        return submit(_finding(line=11, title="Fixed"))
    result, t = _run(tmp_path, {"correctness": correctness, "*": submit()})
    status = {a.name: a for a in result.agents}
    assert status["correctness"].status == "ok" and status["correctness"].findings == 1
    assert [f.title for f in result.findings] == ["Fixed"]


def test_a_failing_specialist_is_named_and_the_rest_is_kept(tmp_path):
    result, _ = _run(tmp_path, {"performance": APIError("Anthropic API error 529: Overloaded"),
                                "*": submit(_finding())})
    status = {a.name: a for a in result.agents}
    assert status["performance"].status == "failed" and "529" in status["performance"].error
    assert not result.complete and result.findings


def test_a_failing_summary_keeps_the_merged_findings(tmp_path):
    result, _ = _run(tmp_path, {"summary": APIError("Anthropic API error 500: boom"), "*": submit(_finding())})
    assert result.summary.status == "failed" and result.overview is None and not result.complete
    assert len(result.findings) == 1 and result.findings[0].also_flagged_by
    assert result.verdict == "minor_issues"                 # derived from the severities


def test_every_specialist_failing_is_an_api_error(tmp_path):
    with pytest.raises(APIError, match="401"):
        _run(tmp_path, {"*": APIError("Anthropic API error 401: invalid x-api-key")})


def test_a_model_that_never_submits_is_nudged_once_then_stopped(tmp_path):
    text = [{"type": "text", "text": "I think it is fine."}]
    result, t = _run(tmp_path, {"documentation": text, "*": submit()})
    doc = {a.name: a for a in result.agents}["documentation"]
    assert doc.status == "failed" and "without calling submit_findings" in doc.error
    assert len([1 for w, _, _ in t.requests if w == "documentation"]) == 2


def test_turns_are_bounded(tmp_path):
    read = [{"type": "tool_use", "id": "r", "name": "read_file", "input": {"path": "shared-mr-context.txt"}}]
    result, t = _run(tmp_path, {"maintainability": read, "*": submit()}, Config(max_turns=3, routing="all"))
    m = {a.name: a for a in result.agents}["maintainability"]
    assert m.status == "failed" and "3 turns" in m.error


def test_a_refused_key_stops_the_run_at_the_first_call(tmp_path):
    from reviewbot.errors import CredentialsError
    t = ScriptedTransport({"*": CredentialsError("Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY")})
    with pytest.raises(CredentialsError, match="401"):
        asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws"))
    assert len(t.requests) == 1                     # the leader only: nothing else was sent


@pytest.mark.parametrize("error", [APIError("Anthropic API error 529: Overloaded", 529),
                                   APIError("Anthropic API error 400: bad", 400),
                                   APIError("cannot reach the Anthropic API: connection failed", None, "connection"),
                                   APIError("Anthropic API timed out", None, "timeout")])
def test_a_leader_failing_before_its_first_event_fails_the_run_at_once(tmp_path, error):
    t = ScriptedTransport({"security": error, "*": submit(_finding())})
    events = []
    with pytest.raises(APIError) as e:
        asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws", events.append))
    assert e.value is error and LeaderFailed("security", 6) in events
    assert [w for w, _, _ in t.requests] == ["security"]      # no one-by-one hand-over


def test_a_leader_failure_of_its_own_request_fans_out_the_others(tmp_path):
    t = ScriptedTransport({"security": APIError("Anthropic API error 413: request too large", 413),
                           "*": submit(_finding())})
    result = asyncio.run(run_review(change(), Config(routing="all"), t, tmp_path / "ws"))
    starts = [w for e, w in t.log if e == "start"]
    assert starts[0] == "security" and len(set(starts)) == 8
    assert {a.name: a.status for a in result.agents}["security"] == "failed" and not result.complete
    assert any("failed before its first event" in n for n in result.notes)


def test_an_unexpected_exception_fails_one_agent_only(tmp_path):
    def boom(turn, request):
        raise KeyError("surprise")
    result, _ = _run(tmp_path, {"performance": boom, "*": submit(_finding())})
    status = {a.name: a for a in result.agents}
    assert status["performance"].status == "failed" and "internal error: KeyError" in status["performance"].error
    assert status["security"].status == "ok" and result.summary.status == "ok"


def test_nothing_to_verify_calls_no_summary_agent_and_derives_the_verdict(tmp_path):
    result, t = _run(tmp_path, {"*": submit()})
    assert "summary" not in {who for who, _, _ in t.requests}           # no call, no cost
    assert result.summary is None and result.verdict == "no_issues" and result.complete
    assert any("summary agent was not run: nothing to verify" in n for n in result.notes)


def test_one_finding_to_verify_still_calls_the_summary_agent(tmp_path):
    result, t = _run(tmp_path, {"security": submit(_finding()), "*": submit()})
    assert [who for who, _, _ in t.requests].count("summary") == 1
    assert result.summary.status == "ok"
