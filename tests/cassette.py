"""vcrpy set-up shared by the end-to-end tests (the configuration itself is reviewbot.llm.cassettes).

Cassettes replay offline by default (record_mode "none": a request that is not in the cassette
fails the test). Requests are matched on method, path and the exact body, so any non-determinism
in the prompts or the request layout breaks the replay: the suite guards cache stability.

Re-record against cachesim (or the real API) with:
    REVIEWBOT_RECORD=1 ANTHROPIC_BASE_URL=http://127.0.0.1:8787 python -m pytest tests/test_e2e_review.py
Keys and tokens are filtered out of the cassettes.
"""
from __future__ import annotations

import os
from pathlib import Path

from reviewbot.llm.cassettes import make_vcr

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("REVIEWBOT_RECORD") == "1"


def recorder():
    """reviewbot's own cassette config (reviewbot.llm.cassettes), rooted at tests/cassettes."""
    return make_vcr(CASSETTES, "all" if RECORDING else "none")


def cassette(name: str):
    """Replay tests/cassettes/NAME; when recording, record it afresh (vcrpy's "all" mode would
    append to the old interactions, and a stale answer could then be replayed for a new request)."""
    if RECORDING:
        (CASSETTES / name).unlink(missing_ok=True)
    return recorder().use_cassette(name)


# Read once, at import: tests may point ANTHROPIC_BASE_URL elsewhere while they run.
_RECORD_URL = os.environ.get("ANTHROPIC_BASE_URL", "http://127.0.0.1:8787")


def api_url() -> str:
    return _RECORD_URL if RECORDING else "http://127.0.0.1:8787"


def reset_cachesim(settings: dict | None = None) -> None:
    """When recording against cachesim, start every test from an empty cache (a real API has no /_reset);
    `settings` go in the reset body (e.g. a fault plan)."""
    if RECORDING and "127.0.0.1" in api_url():
        import json
        import urllib.request
        body = json.dumps({"fault_plan": [], "itpm_limit": 0, **(settings or {})}).encode()
        urllib.request.urlopen(urllib.request.Request(api_url() + "/_reset", data=body, method="POST"), timeout=5)


def api_key() -> str:
    return os.environ.get("ANTHROPIC_API_KEY", "test-key") if RECORDING else "test-key"


def recording_http_client():
    """While recording, an httpx2 client under vcrpy that keeps a dropped stream as the bytes that
    arrived: vcrpy reads a whole body before it records it, and a connection dropped half-way would
    otherwise be an exception at request time, recorded as nothing. The recorded (and replayed)
    body then ends before `message_stop`, which reviewbot treats as the drop it was. Replaying, or
    outside recording, None: the SDK's own client."""
    if not RECORDING:
        return None
    import httpcore2
    import httpx2

    class Tolerant:
        def __init__(self, pool):
            self._pool = pool

        async def handle_async_request(self, request):
            response = await self._pool.handle_async_request(request)
            inner = response.stream

            class Body:
                async def __aiter__(self):
                    try:
                        async for chunk in inner:
                            yield chunk
                    except httpcore2.RemoteProtocolError:
                        return

                async def aclose(self):
                    await inner.aclose()
            response.stream = Body()
            return response

        def __getattr__(self, name):
            return getattr(self._pool, name)

    transport = httpx2.AsyncHTTPTransport()
    transport._pool = Tolerant(transport._pool)
    return httpx2.AsyncClient(transport=transport, timeout=60)


def rehost(response: dict, urls: set[str], replay: str) -> dict:
    """A recorded response as the replay sees it: every simulator URL in `urls` (the ports this
    recording ran on) replaced by `replay` in the body and the Link headers, Content-Length kept
    right, and no token (reviewbot.llm.cassettes.scrub_response). The GitHub tests' cassettes then
    replay at one fixed address whatever ports they were recorded on."""
    from reviewbot.llm.cassettes import scrub_response
    response = scrub_response(response)
    body = response.get("body", {}).get("string")
    headers = response.get("headers", {})
    for url in urls - {replay}:
        if isinstance(body, bytes) and url.encode() in body:
            body = body.replace(url.encode(), replay.encode())
            response["body"]["string"] = body
            for key in list(headers):
                if key.lower() == "content-length":
                    headers[key] = [str(len(body))]
        for key in list(headers):
            if key.lower() == "link":
                headers[key] = [v.replace(url, replay) for v in headers[key]]
    return response
