"""The edge to the Anthropic API: send one request, return the reply and its timings; count a
request's input tokens (the dry run).

This is the only module that calls the SDK. It builds nothing: requests arrive complete from
reviewbot.agents.requests (the beta header a request needs is derived from it, `betas_for`).
SDK failures that survive the SDK's own retries become APIError with a one-line message (never the
key). A stream that broke after it began (the connection dropped, no event for `stall_seconds`, an
SSE `error` event, or a body that ended before `message_stop`) is StreamBroken, carrying what had
arrived: the SDK never retries those, the scheduler does. ANTHROPIC_BASE_URL is honoured by the SDK
itself, which is how cachesim stands in for the API in development, tests and benchmarks.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import anthropic
import httpx2

from reviewbot.errors import APIError, CredentialsError, StreamBroken
from reviewbot.llm import providers
from reviewbot.llm.models import BETA_PER_MESSAGE_EFFORT
from reviewbot.llm.usage import Usage, usage_from_api

DEFAULT_STALL_SECONDS = 90.0


@dataclass(frozen=True)
class Start:
    """The stream's message_start: the message id and the input side of the usage (known now)."""

    message_id: str
    usage: Usage


@dataclass(frozen=True)
class Reply:
    content: tuple[dict, ...]
    stop_reason: str
    usage: Usage
    model: str
    started: float            # time.monotonic() values
    first_byte: float
    ended: float
    message_id: str = ""
    refusal: str | None = None            # stop_details.category of a refusal
    cache_miss: dict | None = None        # diagnostics.cache_miss_reason
    price_factor: float = 1.0             # the platform's price relative to the Claude API's (providers)
    batch: bool = False                   # answered through the Message Batches API (reviewbot.llm.batches)


@dataclass(frozen=True)
class Partial:
    """What a broken stream delivered before it broke (its usage as far as known)."""

    usage: Usage
    model: str
    started: float
    first_byte: float
    ended: float
    message_id: str = ""
    price_factor: float = 1.0


def _block(b) -> dict:
    """A response content block as we send it back: exactly as returned (thinking blocks with their
    signature included), without null fields."""
    if b.type == "text":
        return {"type": "text", "text": b.text}
    if b.type == "tool_use":
        return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
    if b.type == "thinking":
        return {"type": "thinking", "thinking": b.thinking, "signature": b.signature}
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


def _api_error(e: anthropic.APIError) -> APIError:
    if isinstance(e, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
        return CredentialsError(_one_line(e), getattr(e, "status_code", None))
    kind = ("timeout" if isinstance(e, anthropic.APITimeoutError) else
            "connection" if isinstance(e, anthropic.APIConnectionError) else "status")
    return APIError(_one_line(e), getattr(e, "status_code", None), kind)


# The fields of a Messages request that the count_tokens endpoint takes (it refuses max_tokens, stream).
COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "output_config")


def betas_for(request: dict) -> list[str]:
    """The anthropic-beta values a request needs: per-message effort (an effort-only system message)."""
    if any(m.get("role") == "system" and "output_config" in m for m in request.get("messages") or ()):
        return [BETA_PER_MESSAGE_EFFORT]
    return []


def _headers(request: dict) -> dict:
    betas = betas_for(request)
    return {"anthropic-beta": ",".join(betas)} if betas else {}


def make_client(api_key: str | None, base_url: str | None, max_retries: int, timeout: float,
                http_client=None, stall_seconds: float | None = None,
                target: providers.Target | None = None) -> anthropic.AsyncAnthropic:
    """The SDK client of `target`'s platform (default: the Claude API), built by reviewbot.llm.providers;
    `http_client` (an httpx2.AsyncClient) lets a caller choose the transport. With `stall_seconds`, a
    read that waits longer (no header, no event) times out, and the SDK retries it while the stream
    has not begun."""
    t = httpx2.Timeout(timeout, read=stall_seconds, connect=min(timeout, 30.0)) if stall_seconds else timeout
    return providers.build_client(target or providers.DIRECT, api_key=api_key, base_url=base_url,
                                  max_retries=max_retries, timeout=t, http_client=http_client)


def client_from_env(api_key: str | None, max_retries: int, timeout: float,
                    stall_seconds: float | None = None,
                    target: providers.Target | None = None) -> anthropic.AsyncAnthropic:
    """The client the commands use: on the Claude API, ANTHROPIC_BASE_URL, when set, points it at
    another endpoint; the cloud clients read their own *_BASE_URL variables."""
    direct = target is None or target.platform.name == "anthropic"
    return make_client(api_key, (os.environ.get("ANTHROPIC_BASE_URL") or None) if direct else None,
                       max_retries, timeout, stall_seconds=stall_seconds, target=target)


def _miss(diag) -> dict | None:
    if diag is None:
        return None
    reason = diag.get("cache_miss_reason") if isinstance(diag, dict) else getattr(diag, "cache_miss_reason", None)
    if reason is None:
        return None
    return reason if isinstance(reason, dict) else reason.model_dump(exclude_none=True)


class Transport:
    """Sends requests with an AsyncAnthropic client it is given.

    Requests are built with Claude API model ids (the model table's keys). On a cloud platform
    (`target`), the id is swapped for the platform's own at this edge, and the reply is reported
    under the API id with the platform's price factor, so everything above prices it from one table."""

    def __init__(self, client: anthropic.AsyncAnthropic, clock: Callable[[], float] = time.monotonic,
                 stall_seconds: float = DEFAULT_STALL_SECONDS, target: providers.Target | None = None):
        self._client = client
        self._clock = clock
        self.stall_seconds = stall_seconds
        self._target = target if target is not None and target.platform.name != "anthropic" else None
        self._factor = providers.price_factor(target) if target is not None else 1.0

    def _wire(self, request: dict) -> dict:
        """The request as this platform takes it: the platform's model id."""
        if self._target is None:
            return request
        t = self._target
        return {**request, "model": providers.platform_model_id(
            t.platform.name, request["model"], t.get("bedrock_inference_profile") or "global")}

    def _model(self, request: dict, answered: str | None) -> str:
        """The id a reply is reported under: the API's answer on the Claude API, else the request's id."""
        return (answered or request["model"]) if self._target is None else request["model"]

    async def send(self, request: dict, on_start: Callable[[Start], None] | None = None) -> Reply:
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

    async def _stream(self, request: dict, started: float, on_start) -> Reply:
        start: Start | None = None
        first = started
        model = request["model"]

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

    async def count_tokens(self, request: dict) -> int:
        """Input tokens of `request` as the API counts them (POST /v1/messages/count_tokens: free,
        generates nothing, reads and writes no cache). Nothing is sent to /v1/messages."""
        try:
            reply = await self._client.messages.count_tokens(
                **{k: v for k, v in self._wire(request).items() if k in COUNTED_FIELDS}, extra_headers=_headers(request))
        except anthropic.APIError as e:
            raise _api_error(e) from None
        return reply.input_tokens
