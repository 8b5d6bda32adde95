"""Connection resets and timeouts on a call are retried by the SDK; past the retries, one line.

The SDK is given an httpx2 MockTransport (the client is passed in), so the failures are real
httpx2 exceptions raised where the network would raise them, not a mocked SDK.
"""
import asyncio
import json

import httpx2
import pytest

from reviewbot.errors import APIError
from reviewbot.llm.anthropic_transport import AnthropicTransport, make_client

REQUEST = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


def sse(message_id="msg_1"):
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 90,
                      "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "done"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 3}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def _client(failures):
    attempts = []

    def handler(request):
        attempts.append(request)
        if len(attempts) <= len(failures):
            raise failures[len(attempts) - 1]
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=sse())

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return make_client("k", "http://api.invalid", 2, 5, http_client=http), attempts


def test_a_reset_and_a_timeout_are_retried():
    client, attempts = _client([httpx2.ConnectError("connection reset by peer"), httpx2.ReadTimeout("timed out")])

    async def go():
        async with client:
            return await AnthropicTransport(client).send(dict(REQUEST))
    reply = asyncio.run(go())
    assert len(attempts) == 3
    assert reply.content == ({"type": "text", "text": "done"},) and reply.usage.cache_read == 90


@pytest.mark.parametrize("error,message", [
    (httpx2.ConnectError("reset"), "cannot reach the Anthropic API: connection failed"),
    (httpx2.ReadTimeout("slow"), "Anthropic API timed out"),
])
def test_past_the_retries_it_is_one_line(error, message):
    client, attempts = _client([error] * 3)

    async def go():
        async with client:
            return await AnthropicTransport(client).send(dict(REQUEST))
    with pytest.raises(APIError) as e:
        asyncio.run(go())
    assert str(e.value) == message and len(attempts) == 3
