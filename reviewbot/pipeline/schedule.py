"""Call scheduling for one review: the run clock, the budget, ITPM pacing and keeping the cache warm.

Every API call of a review goes through `Runner.send`, which
- refuses a call once the review's budget (calls, tokens, dollars) is spent, or when the calls in
  flight plus this one are estimated to pass it, so a review stops with a partial, labelled result
  instead of running away (it can overshoot by at most about one call's cost);
- retries a stream that broke after it began (dropped, stalled, an SSE error event), which the SDK
  never retries, up to max_retries times; the broken attempt was billed and is recorded (its cache
  write is read by the retry);
- paces calls under an input-tokens-per-minute limit (uncached input and cache writes count, cache
  reads do not), waiting before it sends rather than hammering and retrying on 429s;
- records each call (usage and timings) and when the shared prefix was last used.
`keep_warm` runs beside a long phase and, when the next use of the prefix would otherwise come
later than a fraction of the TTL after the last one, sends a max_tokens=0 call that reads (and so
refreshes) it, provided the prefix is cached at all (a refresh costs one cache read; letting it
expire costs a re-write at 1.25x on the next call). The decisions are pure functions.

Requests arrive as reviewbot.agents.requests.Request records: their shared-prefix split and effort
are fields, not read back out of the body. The body goes to the Transport as it is.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from reviewbot.agents.requests import Request
from reviewbot.domain.events import KeepWarm, OnEvent, Pacing, StreamRetried
from reviewbot.errors import APIError, BudgetExceeded, StreamBroken
from reviewbot.llm.models import SUBMISSION_ESTIMATE, model_info
from reviewbot.llm.transport import Block, OnStart, Partial, Reply, Start, Transport
from reviewbot.llm.usage import REFUSALS_BILLED, CallRecord, Usage, call_cost, cost

KEEP_WARM_AT = 0.8          # refresh when this fraction of the TTL has passed since the last use


@dataclass(frozen=True)
class Budget:
    calls: int = 0             # 0: no limit
    tokens: int = 0            # input (all kinds) + output
    dollars: float = 0.0


def budget_exceeded(records: list[CallRecord], budget: Budget, dispatched: int | None = None) -> str | None:
    """Why no further call may be made, or None. Calls count when sent (`dispatched`); tokens and
    dollars when their usage is known."""
    calls = len(records) if dispatched is None else dispatched
    if budget.calls and calls >= budget.calls:
        return f"budget of {budget.calls} calls reached"
    tokens = sum(r.usage.total_input + r.usage.output_tokens for r in records)
    if budget.tokens and tokens >= budget.tokens:
        return f"budget of {budget.tokens} tokens reached ({tokens} used)"
    spent = sum(cost(r.usage, r.model) for r in records)
    if budget.dollars and spent >= budget.dollars:
        return f"budget of ${budget.dollars:.2f} reached (${spent:.4f} spent)"
    return None


def pacing_delay(window: list[tuple[float, int]], now: float, need: int, limit: int, span: float = 60.0) -> float:
    """Seconds to wait until `need` more uncached tokens fit under `limit` per rolling `span`."""
    if not limit:
        return 0.0
    live = [(t, n) for t, n in window if t > now - span]
    used = sum(n for _, n in live)
    if used + need <= limit or not live:
        return 0.0                      # a single call larger than the limit is sent alone
    for t, n in sorted(live):
        used -= n
        if used + need <= limit:
            return max(0.0, t + span - now)
    return max(0.0, max(t for t, _ in live) + span - now)


def estimate_tokens(chars: int, tokenizer: float = 1.0) -> int:
    """A conservative token estimate for pacing (code and JSON run about 3 characters a token; the
    newer tokenizer counts about 1.3x as many)."""
    return int((chars // 3 + 1) * tokenizer) + 1


def output_estimate(model: str, effort: str | None) -> int:
    """Output tokens one agent turn is expected to take: its thinking at this effort + a submission."""
    return model_info(model).thinking_tokens(effort) + SUBMISSION_ESTIMATE


def estimate_cost(model: str, uncached: int, cached: int, output: int) -> float:
    """Dollars of a call with `cached` tokens read from the cache and `uncached` written/sent (priced as
    a 5-minute write, the dearer of the two)."""
    return cost(Usage(cache_write_5m=uncached, cache_read=cached, output_tokens=output), model)


def followers_cost(model: str, prefix_tokens: int, delta_tokens: int, efforts: list[str | None]) -> float:
    """The estimated cost of the calls still to come after the leader's message_start: one first turn
    per follower (and the summary), each reading the shared prefix and sending its own delta."""
    return sum(cost(Usage(input_tokens=delta_tokens, cache_read=prefix_tokens,
                          output_tokens=output_estimate(model, e)), model) for e in efforts)


def keep_warm_due(now: float, last_use: float, ttl: float) -> bool:
    return now - last_use >= KEEP_WARM_AT * ttl


class Runner:
    """The per-review call gate: clock, budget, pacing, call log, last use of the shared prefix."""

    def __init__(self, transport: Transport, on_event: OnEvent, budget: Budget = Budget(),
                 itpm_limit: int = 0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, max_retries: int = 4):
        self.transport, self.on_event, self.budget, self.itpm = transport, on_event, budget, itpm_limit
        self.max_retries = max_retries
        self.inflight: dict[int, float] = {}              # estimated cost of each call in flight
        self.clock, self.sleep = clock, sleep
        self.t0 = clock()
        self.records: list[CallRecord] = []
        self.dispatched: list[tuple[str, float]] = []     # (label, seconds from t0): every prefix use
        self.window: list[list[float]] = []               # [time, uncached tokens] of each call
        self.prefix_cached: bool | None = None            # known after the first call's usage
        self._lock = asyncio.Lock()
        self.notes: list[str] = []

    def now(self) -> float:
        return self.clock() - self.t0

    def _uncached_chars(self, request: Request) -> int:
        """What of this request will not come from the cache: all of it for the first call, once the
        prefix turned out not to be cacheable, or when it shares nothing or is nothing but the prefix
        (a pre-warm); otherwise only what follows the shared prefix (the agent's delta and turns),
        since every later call is dispatched after the prefix was written."""
        own = request.own()
        if not self.dispatched or self.prefix_cached is False or not request.shared or not own:
            return len(json.dumps(request.body))
        return len(json.dumps(own))

    def spent(self) -> float:
        return sum(call_cost(r) for r in self.records)

    def estimate(self, request: Request) -> float:
        """The dollars this request is expected to cost (its input side by characters, the table's
        tokenizer factor, the output by its effort)."""
        model = request.model
        tok = model_info(model).tokenizer
        uncached = estimate_tokens(self._uncached_chars(request), tok)
        cached = max(0, estimate_tokens(len(json.dumps(request.body)), tok) - uncached)
        out = 0 if request.body.get("max_tokens") == 0 else output_estimate(model, request.effort)
        return estimate_cost(model, uncached, cached, out)

    def _check_budget(self, request: Request) -> float:
        reason = budget_exceeded(self.records, self.budget, len(self.dispatched))
        if reason:
            raise BudgetExceeded(reason)
        est = self.estimate(request) if self.budget.dollars else 0.0
        if self.budget.dollars and (self.inflight or self.records):     # the first call always goes
            ahead = self.spent() + sum(self.inflight.values()) + est
            if ahead > self.budget.dollars:
                raise BudgetExceeded(f"budget of ${self.budget.dollars:.2f} would be passed (${self.spent():.4f} "
                                     f"spent, ${ahead - self.spent():.4f} in flight and estimated for this call)")
        return est

    def _record(self, label: str, request: Request, reply: Reply, fallback: bool) -> CallRecord:
        billed = reply.refusal is None or reply.refusal in REFUSALS_BILLED
        return CallRecord(label, reply.model, reply.usage, reply.started - self.t0, reply.first_byte - self.t0,
                          reply.ended - self.t0, reply.stop_reason, request.effort, fallback, None,
                          reply.cache_miss, reply.message_id, reply.refusal, billed, reply.price_factor, reply.batch)

    def _broken(self, label: str, request: Request, p: Partial, fallback: bool, why: str) -> CallRecord:
        """The billed record of a stream that broke after it began (the retry reads its cache write)."""
        return CallRecord(label, p.model, p.usage, p.started - self.t0, p.first_byte - self.t0, p.ended - self.t0, "",
                          request.effort, fallback, why, None, p.message_id, price_factor=p.price_factor)

    async def send(self, request: Request, label: str, on_first_byte: OnStart | None = None,
                   fallback: bool = False) -> tuple[CallRecord, tuple[Block, ...]]:
        """Send one call (retrying a broken stream); return its CallRecord and content blocks.
        `fallback`: the call is made on the fallback model after a refusal (shown in the usage)."""
        est = self._check_budget(request)
        key = id(request)
        self.inflight[key] = est
        try:
            return await self._send(request, label, on_first_byte, fallback)
        finally:
            self.inflight.pop(key, None)

    async def _send(self, request: Request, label: str, on_first_byte: OnStart | None,
                    fallback: bool) -> tuple[CallRecord, tuple[Block, ...]]:
        need = estimate_tokens(self._uncached_chars(request), model_info(request.model).tokenizer) \
            if self.itpm else 0
        entry: list[float] | None = None
        if self.itpm:
            async with self._lock:
                delay = pacing_delay([(t, int(n)) for t, n in self.window], self.now(), need, self.itpm)
                if delay > 0:
                    self.on_event(Pacing(delay))
                    await self.sleep(delay)
                entry = [self.now(), need]
                self.window.append(entry)
        self.dispatched.append((label, self.now()))
        started = [False]

        def on_start(start: Start) -> None:
            if self.prefix_cached is None:       # known at the first event, not only when the call ends
                self.prefix_cached = start.usage.cache_write + start.usage.cache_read > 0
            if not started[0]:
                started[0] = True
                if on_first_byte:
                    on_first_byte(start)
        attempt = 0
        while True:
            try:
                reply = await self.transport.send(request.body, on_start)
                break
            except StreamBroken as e:
                if isinstance(e.partial, Partial):   # billed: the broken attempt is part of the usage report
                    self.records.append(self._broken(label, request, e.partial, fallback, str(e)))
                attempt += 1
                if attempt > self.max_retries:
                    raise APIError(f"{e}; gave up after {attempt} attempts", None, "stream") from None
                self.on_event(StreamRetried(label, str(e), attempt, self.max_retries))
                await self.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
        if entry is not None:
            entry[1] = reply.usage.input_tokens + reply.usage.cache_write     # the estimate, corrected
        if self.prefix_cached is None:
            self.prefix_cached = reply.usage.cache_write + reply.usage.cache_read > 0
        rec = self._record(label, request, reply, fallback)
        self.records.append(rec)
        return rec, reply.content

    def last_prefix_use(self) -> float:
        return max((t for _, t in self.dispatched), default=0.0)

    async def keep_warm(self, warm_request: Request, ttl: float, stop: asyncio.Event,
                        poll: float | None = None) -> None:
        """Refresh the shared prefix until `stop` is set, whenever it is due and the prefix is cached."""
        poll = poll or max(0.05, min(5.0, ttl / 20))
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), poll)
                return
            except TimeoutError:
                pass
            if keep_warm_due(self.now(), self.last_prefix_use(), ttl) and self.prefix_cached:
                self.on_event(KeepWarm())
                try:
                    await self.send(warm_request, "keep-warm")
                except (APIError, BudgetExceeded) as e:
                    self.notes.append(f"keep-warm stopped: {e}")    # the review goes on; the cache may expire
                    return
