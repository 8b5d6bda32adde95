"""One progress printer for every command: `github` shows the same lines at the same -q/-v levels
as `review` (the running cost on each finished reviewer, one line per API call with -v), and the
one metering transport reports each call as a typed event."""
import asyncio

import pytest
from cassette import cassette
from test_github_e2e import event_file, reset, run_bot

from reviewbot.domain.events import CallFinished
from reviewbot.domain.usage import Usage
from reviewbot.errors import APIError, StreamBroken
from reviewbot.llm.transport import Partial, Reply
from reviewbot.llm.usage import cost
from reviewbot.pipeline.metered import Metered


def _github(tmp_path, capsys, monkeypatch, *flags):
    reset()
    with cassette("test_github_opened.yaml"):
        return run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"), *flags)


@pytest.mark.parametrize("flags", [(), ("-v",), ("-q",)], ids=["normal", "verbose", "quiet"])
def test_github_progress_has_the_levels_of_review(tmp_path, capsys, monkeypatch, flags):
    run = _github(tmp_path, capsys, monkeypatch, *flags)
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    done = [x for x in lines if ": done with " in x]
    calls = [x for x in lines if x.startswith("reviewbot: call ")]
    if flags == ("-q",):
        assert not done and not calls and "sha256" not in run.err
        return
    assert done and all(x.endswith(" so far)") for x in done)
    assert done[-1].startswith("reviewbot: summary: done with ")
    if flags == ("-v",):
        assert len(calls) == 4 and "reviewbot: shared prefix sha256 " in run.err     # 3 reviewers + summary
    else:
        assert not calls and "sha256" not in run.err


class _Inner:
    def __init__(self, outcome):
        self.outcome = outcome

    async def send(self, request, on_start=None):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def count_tokens(self, request):
        raise APIError("nope")


def _reply(**kw) -> Reply:
    return Reply((), kw.pop("stop_reason", "end_turn"), Usage(10, 0, 0, 100, 20), "claude-sonnet-4-6", 0, 0, 0, **kw)


def _events(outcome) -> list:
    seen: list = []
    try:
        asyncio.run(Metered(_Inner(outcome), seen.append).send({}))
    except APIError:
        pass
    return seen


def test_each_finished_call_is_one_event_with_its_cost():
    u = Usage(10, 0, 0, 100, 20)
    assert _events(_reply(cache_miss={"type": "ttl_expired"})) == [
        CallFinished("claude-sonnet-4-6", u, cost(u, "claude-sonnet-4-6"), {"type": "ttl_expired"}, "end_turn")]
    assert _events(_reply(price_factor=1.1))[0].cost == pytest.approx(1.1 * cost(u, "claude-sonnet-4-6"))
    assert _events(_reply(stop_reason="refusal", refusal="cyber"))[0].cost == 0.0        # not billed
    assert _events(_reply(stop_reason="refusal", refusal="bio"))[0].cost > 0            # billed


def test_a_broken_stream_is_billed_and_a_failed_call_is_not_a_call():
    partial = Partial(Usage(10, 500, 0, 0, 3), "claude-sonnet-4-6", 0, 0, 0)
    (event,) = _events(StreamBroken("dropped", partial))
    assert event.usage == partial.usage and event.cost > 0
    assert _events(StreamBroken("dropped")) == [] and _events(APIError("Anthropic API error 500: boom", 500)) == []

