"""The Anthropic implementation of reviewbot.llm.batches.Batches: create a Message Batch (or retrieve
one an earlier run created), poll it with backoff, read its results. With
reviewbot.llm.anthropic_transport, the only modules that import the SDK.

It builds nothing: the items arrive complete (reviewbot.pipeline.batch assembles them from the
interactive request builders). A succeeded item carries the same `Reply` an interactive call gives
(content blocks exactly as returned, usage, message id, refusal, cache miss reason), marked
`batch=True` so it is priced at the Batch API's 50%; an errored, expired or canceled item carries a
one-line reason instead, and is that item's failure only. A batch that cannot be created or polled
(a refused key, a 4xx, the API down after the SDK's retries) is an APIError for all of its items.
Polling waits `poll_seconds`, then 1.5 times longer each time, up to `poll_max`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anthropic

from reviewbot.domain.events import BatchEnded, BatchSubmitted, OnEvent, ignore
from reviewbot.errors import APIError
from reviewbot.llm import providers
from reviewbot.llm.anthropic_transport import _api_error, _block, _miss, client_from_env
from reviewbot.llm.batches import BatchInfo, ItemResult
from reviewbot.llm.transport import Connection, Reply
from reviewbot.llm.usage import usage_from_api

POLL_GROWTH = 1.5
ENDED = "ended"


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
                  on_event: OnEvent = ignore) -> tuple[BatchInfo, dict[str, ItemResult]]:
        """Submit `items` ((custom_id, params)) as one batch, wait for it to end, return every item's
        result by custom_id (an item the results do not mention is reported as expired)."""
        headers = {"anthropic-beta": ",".join(betas)} if betas else {}
        created = self._clock()
        requests: list[Any] = [{"custom_id": cid, "params": params} for cid, params in items]
        try:
            batch = await self._client.messages.batches.create(requests=requests, extra_headers=headers)
        except anthropic.APIError as e:
            raise _api_error(e) from None
        on_event(BatchSubmitted(batch.id, len(items)))
        return await self._finish(batch, created, [cid for cid, _ in items], on_event)

    async def follow(self, batch_id: str, custom_ids: Sequence[str],
                     on_event: OnEvent = ignore) -> tuple[BatchInfo, dict[str, ItemResult]]:
        """Wait for the existing batch `batch_id` to end and return its items' results, as `run` does."""
        created = self._clock()
        try:
            batch = await self._client.messages.batches.retrieve(batch_id)
        except anthropic.APIError as e:
            raise _api_error(e) from None
        return await self._finish(batch, created, custom_ids, on_event)

    async def _finish(self, batch: Any, created: float, custom_ids: Sequence[str],
                      on_event: OnEvent) -> tuple[BatchInfo, dict[str, ItemResult]]:
        """Poll `batch` until it has ended, then read every item's result."""
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
        on_event(BatchEnded(batch.id, ended - created, counts.succeeded, counts.errored, counts.expired,
                            counts.canceled))
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
        for cid in custom_ids:
            results.setdefault(cid, ItemResult(cid, "expired", error="batch item missing from the results"))
        return BatchInfo(batch.id, created, ended, polls), results


@asynccontextmanager
async def connect_batches(c: Connection, poll_seconds: float = 1.0) -> AsyncIterator[BatchClient]:
    """reviewbot.llm.batches.ConnectBatches for the Anthropic SDK: a BatchClient on a client from the
    environment (the same as the interactive transport's, `client_from_env`), closed when the run ends."""
    async with client_from_env(c.api_key, c.max_retries, c.timeout, stall_seconds=c.stall_seconds,
                               target=c.target, base_url=c.base_url) as client:
        yield BatchClient(client, poll_seconds=poll_seconds,
                          price_factor=providers.price_factor(c.target) if c.target is not None else 1.0)
