"""The Anthropic implementation of reviewbot.llm.transport.Transport: the one module that imports the
SDK. It sends one request and returns the reply and its timings, and counts a request's input tokens
(the dry run).

It builds nothing: requests arrive complete from reviewbot.agents.requests (the beta header a request
needs is derived from it, `betas_for`). SDK failures that survive the SDK's own retries become
APIError with a one-line message (never the key). A stream that broke after it began (the connection
dropped, no event for `stall_seconds`, an SSE `error` event, or a body that ended before
`message_stop`) is StreamBroken, carrying what had arrived: the SDK never retries those, the
scheduler does. ANTHROPIC_BASE_URL is honoured by the SDK itself, which is how cachesim stands in for
the API in development, tests and benchmarks.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import httpx2

from reviewbot.errors import APIError, CredentialsError, StreamBroken
from reviewbot.llm import providers
from reviewbot.llm.transport import (
    COUNTED_FIELDS,
    DEFAULT_STALL_SECONDS,
    Block,
    Body,
    Connection,
    OnStart,
    Partial,
    Reply,
    Start,
    betas_for,
)
from reviewbot.llm.usage import Usage, usage_from_api


def _block(b: Any) -> Block:
    """A response content block as we send it back: exactly as returned (thinking blocks with their
    signature included), without null fields."""
    if b.type == "text":
        return {"type": "text", "text": b.text}
    if b.type == "tool_use":
        return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
    if b.type == "thinking":
        return {"type": "thinking", "thinking": b.thinking, "signature": b.signature}
    dumped: Block = b.model_dump(exclude_none=True)
    return dumped


def _one_line(e: Exception) -> str:
    status = getattr(e, "status_code", None)
    body = getattr(e, "body", None)
    msg = ""
    if isinstance(body, dict):
        error = body.get("error")
        msg = str(error.get("message", "")) if isinstance(error, dict) else ""
    msg = (msg or getattr(e, "message", "") or str(e) or type(e).__name__).splitlines()[0][:200]
    if isinstance(e, anthropic.AuthenticationError):
        return "Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY"
    if isinstance(e, anthropic.APITimeoutError):
        return "Anthropic API timed out"
    if isinstance(e, anthropic.APIConnectionError):
        return "cannot reach the Anthropic API: connection failed"
    return f"Anthropic API error {status}: {msg}" if status else f"Anthropic API error: {msg}"


def _api_error(e: anthropic.APIError) -> APIError:
    if isinstance(e, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
        return CredentialsError(_one_line(e), getattr(e, "status_code", None))
    kind = ("timeout" if isinstance(e, anthropic.APITimeoutError) else
            "connection" if isinstance(e, anthropic.APIConnectionError) else "status")
    return APIError(_one_line(e), getattr(e, "status_code", None), kind)


def _headers(request: Body) -> dict[str, str]:
    betas = betas_for(request)
    return {"anthropic-beta": ",".join(betas)} if betas else {}


def make_client(api_key: str | None, base_url: str | None, max_retries: int, timeout: float,
                http_client: httpx2.AsyncClient | None = None, stall_seconds: float | None = None,
                target: providers.Target | None = None) -> Any:
    """The SDK client of `target`'s platform (default: the Claude API), built by reviewbot.llm.providers;
    `http_client` lets a caller choose the HTTP transport. With `stall_seconds`, a read that waits
    longer (no header, no event) times out, and the SDK retries it while the stream has not begun.
    (Typed Any: each platform has its own client class, with the same `messages` surface.)"""
    t = httpx2.Timeout(timeout, read=stall_seconds, connect=min(timeout, 30.0)) if stall_seconds else timeout
    return providers.build_client(target or providers.DIRECT, api_key=api_key, base_url=base_url,
                                  max_retries=max_retries, timeout=t, http_client=http_client)


def client_from_env(api_key: str | None, max_retries: int, timeout: float,
                    stall_seconds: float | None = None,
                    target: providers.Target | None = None, base_url: str | None = None) -> Any:
    """The client the commands use: on the Claude API, `base_url` or else ANTHROPIC_BASE_URL, when set,
    points it at another endpoint; the cloud clients read their own *_BASE_URL variables."""
    direct = target is None or target.platform.name == "anthropic"
    url = (base_url or os.environ.get("ANTHROPIC_BASE_URL") or None) if direct else None
    return make_client(api_key, url, max_retries, timeout, stall_seconds=stall_seconds, target=target)


@asynccontextmanager
async def connect(c: Connection) -> AsyncIterator[AnthropicTransport]:
    """reviewbot.llm.transport.Connect for the Anthropic SDK: a client from the environment
    (`client_from_env`), closed when the run ends."""
    async with client_from_env(c.api_key, c.max_retries, c.timeout, stall_seconds=c.stall_seconds,
                               target=c.target, base_url=c.base_url) as client:
        yield AnthropicTransport(client, stall_seconds=c.stall_seconds or DEFAULT_STALL_SECONDS, target=c.target)


def _miss(diag: Any) -> dict[str, Any] | None:
    if diag is None:
        return None
    reason = diag.get("cache_miss_reason") if isinstance(diag, dict) else getattr(diag, "cache_miss_reason", None)
    if reason is None:
        return None
    if isinstance(reason, dict):
        return reason
    dumped: dict[str, Any] = reason.model_dump(exclude_none=True)
    return dumped


class AnthropicTransport:
    """A Transport that sends requests with an Anthropic SDK client it is given (AsyncAnthropic, or a
    cloud platform's client).

    Requests are built with Claude API model ids (the model table's keys). On a cloud platform
    (`target`), the id is swapped for the platform's own at this edge, and the reply is reported
    under the API id with the platform's price factor, so everything above prices it from one table."""

    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic,
                 stall_seconds: float = DEFAULT_STALL_SECONDS, target: providers.Target | None = None):
        self._client = client
        self._clock = clock
        self.stall_seconds = stall_seconds
        self._target = target if target is not None and target.platform.name != "anthropic" else None
        self._factor = providers.price_factor(target) if target is not None else 1.0

    def _wire(self, request: Body) -> Body:
        """The request as this platform takes it: the platform's model id."""
        if self._target is None:
            return request
        t = self._target
        return {**request, "model": providers.platform_model_id(
            t.platform.name, request["model"], t.get("bedrock_inference_profile") or "global")}

    def _model(self, request: Body, answered: str | None) -> str:
        """The id a reply is reported under: the API's answer on the Claude API, else the request's id."""
        model: str = (answered or request["model"]) if self._target is None else request["model"]
        return model

    async def send(self, request: Body, on_start: OnStart | None = None) -> Reply:
        started = self._clock()
        if request.get("max_tokens") == 0:               # a pre-warm cannot stream
            try:
                msg = await self._client.messages.create(**self._wire(request), extra_headers=_headers(request))
            except anthropic.APIError as e:
                raise _api_error(e) from None
            now = self._clock()
            return Reply((), msg.stop_reason or "", usage_from_api(msg.usage), self._model(request, msg.model),
                         started, now, now, msg.id or "", price_factor=self._factor)
        return await self._stream(request, started, on_start)

    async def _stream(self, request: Body, started: float, on_start: OnStart | None) -> Reply:
        start: Start | None = None
        first = started
        model: str = request["model"]

        def broken(why: str) -> StreamBroken:
            usage = start.usage if start else Usage()
            return StreamBroken(f"the stream broke after it began ({why})",
                                Partial(usage, model, started, first, self._clock(), start.message_id if start else "",
                                        self._factor))
        try:
            async with self._client.messages.stream(**self._wire(request), extra_headers=_headers(request)) as stream:
                events = stream.__aiter__()
                stopped = False
                while True:
                    try:
                        event = await asyncio.wait_for(events.__anext__(), self.stall_seconds)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        raise broken(f"no event for {self.stall_seconds:g}s") from None
                    except (httpx2.TransportError, anthropic.APIConnectionError) as e:
                        raise broken(f"connection lost: {type(e).__name__}") from None
                    except anthropic.APIStatusError as e:         # an SSE `error` event
                        raise broken(f"error event: {_one_line(e)}") from None
                    if event.type == "message_start":
                        first = self._clock()
                        model = self._model(request, event.message.model)
                        start = Start(event.message.id, usage_from_api(event.message.usage))
                        if on_start:
                            on_start(start)
                    elif event.type == "message_stop":
                        stopped = True
                if not stopped:
                    raise broken("the body ended before message_stop")
                msg = await stream.get_final_message()
        except anthropic.APIError as e:
            raise _api_error(e) from None
        except httpx2.TransportError as e:                        # e.g. closing a dropped response
            raise broken(f"connection lost: {type(e).__name__}") from None
        details = getattr(msg, "stop_details", None)
        refusal = None
        if msg.stop_reason == "refusal":
            refusal = (getattr(details, "category", None) if details is not None else None) or "unspecified"
        return Reply(tuple(_block(b) for b in msg.content), msg.stop_reason or "", usage_from_api(msg.usage),
                     self._model(request, msg.model), started, first, self._clock(), msg.id or "", refusal,
                     _miss(getattr(msg, "diagnostics", None)), self._factor)

    async def count_tokens(self, request: Body) -> int:
        """Input tokens of `request` as the API counts them (POST /v1/messages/count_tokens: free,
        generates nothing, reads and writes no cache). Nothing is sent to /v1/messages."""
        try:
            counted = {k: v for k, v in self._wire(request).items() if k in COUNTED_FIELDS}
            reply = await self._client.messages.count_tokens(**counted, extra_headers=_headers(request))
        except anthropic.APIError as e:
            raise _api_error(e) from None
        tokens: int = reply.input_tokens
        return tokens
