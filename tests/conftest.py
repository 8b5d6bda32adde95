"""Test set-up: helpers importable from tests/, and the suite's one fake model API.

`scripted` (a fixture) makes a ScriptedTransport: reviewbot.llm.transport.Transport answering each
agent's turns from a script, for the tests a cassette of a well-behaved model cannot cover. A
command gets it the way it gets the real one: `main(argv, connect=t.connect)`. Nothing patches the
SDK or the commands.
"""
import asyncio
import json
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import turn_of, who_of  # noqa: E402

from reviewbot.llm.transport import Reply, Start  # noqa: E402
from reviewbot.llm.usage import Usage  # noqa: E402


class ScriptedTransport:
    """Replies by agent (first word of its role title, or "*") and turn: a step is the reply's content
    blocks, an exception to raise before any event, or `step(turn, request)` giving either. A
    max_tokens=0 call (pre-warm, keep-warm) reads the prefix and generates nothing. `slow` holds an
    agent's seconds between its first byte and its reply. `log` is the order of events, `requests`
    every (agent, turn, request) sent."""

    def __init__(self, script, start_usage=None, usage=None, slow=None):
        self.script, self.slow = script, slow or {}
        self.start_usage = start_usage or Usage(10, 0, 0, 100, 0)      # the input side, as message_start has it
        self.usage = usage or Usage(10, 0, 0, 100, 5)
        self.log, self.requests = [], []

    async def send(self, request, on_start=None):
        if request["max_tokens"] == 0:
            self.requests.append(("warm", 0, request))
            self.log.append(("warm", None))
            return Reply((), "max_tokens", replace(self.usage, output_tokens=0), request["model"], 0, 0, 0)
        who, turn = who_of(request), turn_of(request)
        self.requests.append((who, turn, request))
        self.log.append(("start", who))
        await asyncio.sleep(0.01)
        step = self.script.get(who, self.script.get("*"))
        content = step(turn, request) if callable(step) else step
        if isinstance(content, Exception):
            raise content
        if on_start:
            on_start(Start(f"msg_{who}_{turn}", self.start_usage))
        self.log.append(("first_byte", who))
        await asyncio.sleep(self.slow.get(who, 0))
        t = time.monotonic()
        return Reply(tuple(content), "tool_use", self.usage, request["model"], t, t, t, f"msg_{who}_{turn}")

    async def count_tokens(self, request):
        return len(json.dumps(request)) // 4

    @asynccontextmanager
    async def connect(self, connection):
        """reviewbot.llm.transport.Connect: what a command opens instead of the Anthropic SDK."""
        self.connection = connection
        yield self


@pytest.fixture
def scripted():
    """scripted(script, **options): a new ScriptedTransport."""
    return ScriptedTransport
