"""The edge to the Anthropic API: send one request, return the reply and its timings; count a
request's input tokens (the dry run).

This is the only module that calls the SDK. It builds nothing: requests arrive complete from
reviewbot.specialists.requests. SDK failures that survive the SDK's own retries become APIError
with a one-line message (never the key). ANTHROPIC_BASE_URL is honoured by the SDK itself, which is
how cachesim stands in for the API in development, tests and benchmarks.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import anthropic

from . import providers
from .errors import APIError, CredentialsError
from .usage import Usage, usage_from_api


@dataclass(frozen=True)
class Reply:
    content: tuple[dict, ...]
    stop_reason: str
    usage: Usage
    model: str
    started: float            # time.monotonic() values
    first_byte: float
    ended: float


def _block(b) -> dict:
    """A response content block as the minimal dict we send back (deterministic, no nulls)."""
    if b.type == "text":
        return {"type": "text", "text": b.text}
    if b.type == "tool_use":
        return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
    return b.model_dump(exclude_none=True)


def _one_line(e: Exception) -> str:
    status = getattr(e, "status_code", None)
    body = getattr(e, "body", None)
    msg = ""
    if isinstance(body, dict):
        msg = (body.get("error") or {}).get("message", "") if isinstance(body.get("error"), dict) else ""
    msg = (msg or getattr(e, "message", "") or str(e) or type(e).__name__).splitlines()[0][:200]
    if isinstance(e, anthropic.AuthenticationError):
        return "Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY"
    if isinstance(e, anthropic.APITimeoutError):
        return "Anthropic API timed out"
    if isinstance(e, anthropic.APIConnectionError):
        return "cannot reach the Anthropic API: connection failed"
    return f"Anthropic API error {status}: {msg}" if status else f"Anthropic API error: {msg}"


# The fields of a Messages request that the count_tokens endpoint takes (it refuses max_tokens, stream).
COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


def make_client(api_key: str | None, base_url: str | None, max_retries: int, timeout: float,
                http_client=None, target: providers.Target | None = None) -> anthropic.AsyncAnthropic:
    """The SDK client of `target`'s platform (default: the Claude API), built by reviewbot.providers;
    `http_client` (an httpx2.AsyncClient) lets a caller choose the transport."""
    return providers.build_client(target or providers.DIRECT, api_key=api_key, base_url=base_url,
                                  max_retries=max_retries, timeout=timeout, http_client=http_client)


def client_from_env(api_key: str | None, max_retries: int, timeout: float,
                    target: providers.Target | None = None) -> anthropic.AsyncAnthropic:
    """The client the commands use: on the Claude API, ANTHROPIC_BASE_URL, when set, points it at
    another endpoint; the cloud clients read their own *_BASE_URL variables."""
    direct = target is None or target.platform.name == "anthropic"
    return make_client(api_key, (os.environ.get("ANTHROPIC_BASE_URL") or None) if direct else None,
                       max_retries, timeout, target=target)


class Transport:
    """Sends requests with an AsyncAnthropic client it is given."""

    def __init__(self, client: anthropic.AsyncAnthropic, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._clock = clock

    async def send(self, request: dict, on_first_byte: Callable[[], None] | None = None) -> Reply:
        started = self._clock()
        try:
            if request.get("max_tokens") == 0:           # a pre-warm cannot stream
                msg = await self._client.messages.create(**request)
                first = self._clock()
            else:
                async with self._client.messages.stream(**request) as stream:
                    first = self._clock()
                    if on_first_byte:
                        on_first_byte()
                    msg = await stream.get_final_message()
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as e:
            raise CredentialsError(_one_line(e)) from None
        except anthropic.APIError as e:
            raise APIError(_one_line(e)) from None
        return Reply(tuple(_block(b) for b in msg.content), msg.stop_reason or "", usage_from_api(msg.usage),
                     msg.model or request["model"], started, first, self._clock())

    async def count_tokens(self, request: dict) -> int:
        """Input tokens of `request` as the API counts them (POST /v1/messages/count_tokens: free,
        generates nothing, reads and writes no cache). Nothing is sent to /v1/messages."""
        try:
            reply = await self._client.messages.count_tokens(
                **{k: request[k] for k in COUNTED_FIELDS if k in request})
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as e:
            raise CredentialsError(_one_line(e)) from None
        except anthropic.APIError as e:
            raise APIError(_one_line(e)) from None
        return reply.input_tokens
