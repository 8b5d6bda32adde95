"""The transport every command hands the pipeline: each finished API call becomes a `CallFinished`
event (the progress printer's running cost and its -v line), and a request missing from a replayed
cassette becomes an error that says so.

One wrapper for review, github, eval and batch mode, so a call is reported the same way by every
command (a batch item's reply, `Reply.batch`, at the batch price: llm.usage.price_multiplier). It
only observes: requests and replies pass through unchanged.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reviewbot.domain.events import CallFinished, OnEvent
from reviewbot.errors import APIError, StreamBroken
from reviewbot.llm.cassettes import is_cassette_miss
from reviewbot.llm.transport import Reply, Start, Transport
from reviewbot.llm.usage import REFUSALS_BILLED, cost, price_multiplier

OnStart = Callable[[Start], None] | None      # told the stream's message_start


class Metered:
    """Wraps `inner` (a Transport, or anything with its `send`/`count_tokens`); reports to `on_event`.
    `cassette`: the replayed cassette, named in the error when a request is not in it."""

    def __init__(self, inner: Transport, on_event: OnEvent, cassette: Path | None = None):
        self.inner, self.on_event, self.cassette = inner, on_event, cassette

    def _miss(self, e: APIError) -> APIError:
        if self.cassette is not None and is_cassette_miss(e):
            return APIError(f"a request is not in the cassette {self.cassette}: the prompts, config, model or "
                            "change differ from the recording (re-record it with --record-cassette)")
        return e

    async def send(self, request: dict[str, Any], on_start: OnStart = None) -> Reply:
        try:
            reply = await self.inner.send(request, on_start)
        except StreamBroken as e:
            p = e.partial
            if p is not None:               # billed: the broken attempt counts in the cost so far
                self.on_event(CallFinished(p.model, p.usage, cost(p.usage, p.model) * p.price_factor))
            raise
        except APIError as e:
            raise self._miss(e) from None
        billed = reply.refusal is None or reply.refusal in REFUSALS_BILLED
        self.on_event(CallFinished(reply.model, reply.usage,
                                   cost(reply.usage, reply.model) * price_multiplier(reply.price_factor, reply.batch)
                                   if billed else 0.0,
                                   reply.cache_miss, reply.stop_reason))
        return reply

    async def count_tokens(self, request: dict[str, Any]) -> int:
        try:
            return await self.inner.count_tokens(request)
        except APIError as e:
            raise self._miss(e) from None

