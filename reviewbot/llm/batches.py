"""The edge to the Message Batches API: create a batch, poll it with backoff, read its results.

This module and reviewbot.llm.transport are the only ones that call the SDK. It builds nothing: the
items arrive complete (reviewbot.pipeline.batch assembles them from the interactive request
builders). A result comes back as `ItemResult`: a succeeded item carries the same `Reply` an
interactive call gives (content blocks exactly as returned, usage, message id, refusal, cache miss
reason), marked `batch=True` so it is priced at the Batch API's 50%; an errored, expired or
canceled item carries a one-line reason instead, and is that item's failure only. A batch that cannot
be created or polled (a refused key, a 4xx, the API down after the SDK's retries) is an APIError for
all of its items. Polling waits `poll_seconds`, then 1.5 times longer each time, up to `poll_max`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic

from reviewbot.errors import APIError
from reviewbot.llm.transport import Reply, _api_error, _block, _miss
from reviewbot.llm.usage import usage_from_api

POLL_GROWTH = 1.5
ENDED = "ended"


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: `kind` is the API's result type (succeeded, errored, expired, canceled)."""

    custom_id: str
    kind: str
    reply: Reply | None = None
    error: str | None = None
    status: int | None = None            # the HTTP status an errored item would have had, when known


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    created: float                        # clock values
    ended: float
    polls: int


_ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                 "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                 "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}


def _errored(custom_id: str, error: Any) -> ItemResult:
    inner = getattr(error, "error", None)
    kind = getattr(inner, "type", None) or "error"
    message = (getattr(inner, "message", None) or kind).splitlines()[0][:200] if inner is not None else "no detail"
    return ItemResult(custom_id, "errored", error=f"batch item errored: {kind}: {message}",
                      status=_ERROR_STATUS.get(kind))


def _reply(message: Any, created: float, ended: float, price_factor: float) -> Reply:
    refusal = None
    if message.stop_reason == "refusal":
        details = getattr(message, "stop_details", None)
        refusal = (getattr(details, "category", None) if details is not None else None) or "unspecified"
    return Reply(tuple(_block(b) for b in message.content), message.stop_reason or "", usage_from_api(message.usage),
                 message.model, created, ended, ended, message.id or "", refusal,
                 _miss(getattr(message, "diagnostics", None)), price_factor, batch=True)


class BatchClient:
    """Creates Message Batches with an AsyncAnthropic client it is given; constructing does no I/O."""

    def __init__(self, client: anthropic.AsyncAnthropic, poll_seconds: float = 1.0, poll_max: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = asyncio.sleep, price_factor: float = 1.0):
        self._client = client
        self.poll_seconds, self.poll_max = poll_seconds, poll_max
        self._clock, self._sleep = clock, sleep
        self._factor = price_factor

    async def run(self, items: Sequence[tuple[str, dict[str, Any]]], betas: Sequence[str] = (),
                  on_event: Callable[[str], None] = lambda m: None) -> tuple[BatchInfo, dict[str, ItemResult]]:
        """Submit `items` ((custom_id, params)) as one batch, wait for it to end, return every item's
        result by custom_id (an item the results do not mention is reported as expired)."""
        headers = {"anthropic-beta": ",".join(betas)} if betas else {}
        created = self._clock()
        requests: list[Any] = [{"custom_id": cid, "params": params} for cid, params in items]
        try:
            batch = await self._client.messages.batches.create(requests=requests, extra_headers=headers)
        except anthropic.APIError as e:
            raise _api_error(e) from None
        on_event(f"batch {batch.id}: {len(items)} request(s) submitted")
        polls, wait = 0, self.poll_seconds
        while batch.processing_status != ENDED:
            await self._sleep(wait)
            wait = min(self.poll_max, wait * POLL_GROWTH)
            polls += 1
            try:
                batch = await self._client.messages.batches.retrieve(batch.id)
            except anthropic.APIError as e:
                raise _api_error(e) from None
        ended = self._clock()
        counts = batch.request_counts
        on_event(f"batch {batch.id}: ended after {ended - created:.1f}s ({counts.succeeded} succeeded, "
                 f"{counts.errored} errored, {counts.expired} expired, {counts.canceled} canceled)")
        results: dict[str, ItemResult] = {}
        try:
            decoder = await self._client.messages.batches.results(batch.id)
            async for line in decoder:
                r = line.result
                if r.type == "succeeded":
                    results[line.custom_id] = ItemResult(line.custom_id, "succeeded",
                                                         _reply(r.message, created, ended, self._factor))
                elif r.type == "errored":
                    results[line.custom_id] = _errored(line.custom_id, r.error)
                else:
                    results[line.custom_id] = ItemResult(line.custom_id, r.type, error=f"batch item {r.type}")
        except anthropic.APIError as e:
            raise _api_error(e) from None
        except anthropic.AnthropicError as e:            # e.g. an ended batch without a results_url
            raise APIError(f"Anthropic API error: the results of batch {batch.id} cannot be read ({e})") from None
        for cid, _ in items:
            results.setdefault(cid, ItemResult(cid, "expired", error="batch item missing from the results"))
        return BatchInfo(batch.id, created, ended, polls), results
