"""Failures that need real time and a real socket: a stall, a hung endpoint, an API answering only
529, and a drop, a stall and an SSE error on three different calls of one review.

These run against a cachesim subprocess (or a socket that never answers) on a free loopback port
and are skipped where ../shared/cachesim is not beside the repository. Timing cannot be replayed
from a cassette: vcrpy reads a whole body before the client sees a byte.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import replace

import pytest
from corpus import clone
from simulators import cachesim, ledger

from reviewbot.change.gitsource import read_local_change
from reviewbot.config import Config
from reviewbot.errors import APIError
from reviewbot.llm.anthropic_transport import AnthropicTransport, make_client
from reviewbot.pipeline.review import run_review

CFG = Config(routing="all", max_retries=2, stall_seconds=1.0)


def _run(url: str, config: Config, tmp_path, sub: str):
    repo, _ = clone("unidiff-126", tmp_path / sub)
    change = read_local_change(repo, "base", "pr")

    async def go():
        async with make_client("test-key", url, config.max_retries, 30, stall_seconds=config.stall_seconds) as c:
            return await run_review(change, config, AnthropicTransport(c, stall_seconds=config.stall_seconds),
                                    tmp_path / sub / "ws")
    return asyncio.run(go())


def _reset(url: str, plan: list) -> None:
    import json
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(url + "/_reset", data=json.dumps({"fault_plan": plan}).encode(),
                                                  method="POST"), timeout=5).read()


def _key(findings):
    return sorted((f.fingerprint, f.line, f.severity) for f in findings)


def test_a_drop_a_stall_and_an_sse_error_on_three_calls_change_nothing(tmp_path):
    plan = [{"match": {"nth": 2}, "midstream": {"after_events": 3, "action": "drop"}},
            {"match": {"nth": 4}, "midstream": {"after_events": 2, "action": "stall", "seconds": 4}},
            {"match": {"nth": 6}, "midstream": {"after_events": 4, "action": "error"}}]
    with cachesim() as url:
        clean = _run(url, CFG, tmp_path, "clean")
        _reset(url, plan)
        t0 = time.monotonic()
        faulty = _run(url, CFG, tmp_path, "faulty")
        took = time.monotonic() - t0
        entries = ledger(url)
    assert faulty.complete and _key(faulty.findings) == _key(clean.findings)
    broken = sorted(c.broken for c in faulty.calls if c.broken)
    assert len(broken) == 3 and any("no event for 1s" in b for b in broken)
    assert any("connection lost" in b or "before message_stop" in b for b in broken)
    assert any("error event" in b for b in broken)
    # the usage lists every billed call: one record per ledger entry, the three broken ones included
    assert len(faulty.calls) == len(entries) == len(clean.calls) + 3
    assert sum(1 for e in entries if e.get("midstream_failure")) == 3
    assert not [e for e in entries if e["status"] != 200]
    assert took < 20


def _hung_server():
    """A socket that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
    threading.Thread(target=accept, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.getsockname()[1]}"


def test_a_hung_endpoint_ends_within_the_stall_timeout_and_its_retries(tmp_path):
    srv, url = _hung_server()
    cfg = replace(CFG, stall_seconds=0.5, max_retries=1)
    try:
        t0 = time.monotonic()
        with pytest.raises(APIError, match="timed out"):
            _run(url, cfg, tmp_path, "hung")
        took = time.monotonic() - t0
    finally:
        srv.close()
    # one agent's attempts (1 + max_retries) x stall_seconds, plus the SDK's backoff
    assert took < (1 + cfg.max_retries) * cfg.stall_seconds + 3


def test_an_api_answering_only_529_fails_in_one_agents_retry_time(tmp_path):
    plan = [{"match": {"every": 1}, "status": 529, "message": "Overloaded", "retry_after": 0.2}]
    with cachesim() as url:
        _reset(url, plan)
        from reviewbot.agents.requests import Request
        from reviewbot.pipeline.schedule import Runner

        async def one_call():
            async with make_client("test-key", url, CFG.max_retries, 30) as c:
                runner = Runner(AnthropicTransport(c), lambda m: None, max_retries=CFG.max_retries)
                try:
                    await runner.send(Request({"model": "claude-sonnet-5-5", "max_tokens": 100,
                                               "messages": [{"role": "user", "content": "hi"}]}, 0, "high"), "x")
                except APIError:
                    pass
        t0 = time.monotonic()
        asyncio.run(one_call())
        one_agent = time.monotonic() - t0
        _reset(url, plan)
        t0 = time.monotonic()
        with pytest.raises(APIError, match="529"):
            _run(url, CFG, tmp_path, "down")
        took = time.monotonic() - t0
        entries = ledger(url)
    assert len(entries) == 1 + CFG.max_retries           # the leader's attempts only: no hand-over
    assert took <= 1.5 * one_agent + 1.0                  # (+1 s: cloning and the workspace)
