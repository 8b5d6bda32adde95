"""Batch mode: reviews whose model calls go through the Message Batches API, at half the price.

The design: the interactive review runs unchanged (`run_review`: the same plan, shared prefix,
request builders, agent loops, merge and summary) over a stand-in for the Transport,
`BatchTransport`, whose `send` hands the request to a `BatchQueue` shared by every review of the
run and waits for its result. The queue submits the requests that are waiting as ONE Message
Batch once the event loop has settled, i.e. when every live agent of every review is waiting on
it. So:
- round 1 is the first turn of every specialist of every review, one batch;
- a specialist that called read_file or search_code gets its tool results locally, as in the
  interactive loop, and asks its next turn: that turn goes in the next batch (one batch per tool
  round; a specialist that submitted on its first turn is done after round 1);
- a review's summary waits for its own specialists, so the summaries go in the batch after the
  last specialist round (with other reviews' later specialist rounds, when they have any).
Every call is therefore still one agent turn with its own CallRecord, priced at the batch factor
(`CallRecord.batch`), and the result is the same ReviewResult, rendered by the same outputs.

What changes against the interactive review (`batch_config`): the requests take the batch layout
(agents.requests.build_batch_request): a batch item takes no beta header, so an agent's own effort
is the item's top-level effort, keyed before the messages, and the review's pre-read files go in the
system blocks, which every effort level reads: each review writes its prefix once, whatever the
efforts of its agents. Every breakpoint of an item (the tools and base prompt, the same in every
review of the run; the review's own part; the newest turn) has `ttl`, by default the 5-minute one
(DEFAULT_BATCH_TTL): a 1h write costs 2x the input price against 1.25x, which on a large prefix
eats most of the batch discount (README "Batch mode" has the figures), and a review's items are
adjacent in a batch (sorted by custom_id), so its first item writes the part and the next read it
within seconds. A later round (a tool round, the summary) comes one batch later: while a review
waits on a batch, its keep-warm (a max_tokens=0 call, which a batch cannot take) goes to the
interactive transport and reads the part at the read price, at most `keep_warm_limit` times per
batch round (as many refreshes as cost less than writing the part again). So the 5m part is the
cheaper one while a review's rounds come within about 30 minutes of each other; the worst case, a
round after the refreshes ran out, writes the part again (1.85x the cost of one 1h write of it in
all, with the refreshes); `--batch-ttl 1h` is for slow batches. There is no leader (a batch has no first
event to wait for: the warm-up is "none" and the first item that the API processes writes the
prefix, best-effort as the docs say); the deadline becomes the batch's own 24 hours. An item that
ends errored, expired or canceled is that agent's failure (the review is partial, exit 5); a review
all of whose items failed is kept as a partial review with the reason, never lost. Only a batch that
cannot be created or read (a refused key, the API down) fails them all.

A batch outlives the process that sent it. With a journal (`bulk --state-dir`, `review --batch
--keep-workspace`; reviewbot.pipeline.journal) each batch is written down as soon as the API accepts
it, and a re-run of a killed run, whose requests are the same bytes and so have the same custom_ids,
follows those batches instead of paying for their items again (`BatchQueue._results`).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reviewbot.config import Config
from reviewbot.domain.change import Change
from reviewbot.domain.enums import DEFAULT_BATCH_TTL, BaseTTL, Warmup
from reviewbot.domain.events import (
    BatchesSent,
    BatchFollowed,
    BatchReviewFailed,
    BatchSubmitted,
    Event,
    OnEvent,
    ignore,
)
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import APIError, BudgetExceeded, ConfigError, CredentialsError
from reviewbot.llm import providers
from reviewbot.llm.batches import Batches, BatchInfo, ConnectBatches, ItemResult
from reviewbot.llm.models import BATCH_FACTOR
from reviewbot.llm.transport import Body, Connect, Connection, OnStart, Reply, Start, Transport, betas_for
from reviewbot.llm.usage import price_of
from reviewbot.pipeline.journal import BatchJournal, journal_of
from reviewbot.pipeline.review import run_review
from reviewbot.repo.tree import Repository

BATCH_DEADLINE_SECONDS = 25 * 3600.0       # a batch expires after 24 h; the review waits that long
ONE_HOUR_OVER_5M = 12                      # the 1h TTL in units of the 5-minute one (cache_ttl_seconds)
SETTLE_TICKS = 50                          # event-loop turns with no new request before a batch is sent
SETTLE_SECONDS = 0.05
ITEM_FAILURE = "batch-item"                # APIError.kind of an item that ended errored, expired or canceled
SUCCEEDED = "succeeded"                    # an item result a re-run reuses; any other is asked for again


def check_batch_target(target: providers.Target) -> None:
    """Batch mode's platform gate: a platform without the Message Batches API is a usage error, and so,
    for now, is a cloud platform that has one (its batches are not the Claude API's endpoint)."""
    providers.require_batches(target)
    if target.platform.name != "anthropic":
        raise ConfigError(f"batch mode goes through the Claude API's Message Batches endpoint; on "
                          f"{target.platform.title} review without --batch (provider 'anthropic' has it)")


def batch_config(config: Config, ttl: str = DEFAULT_BATCH_TTL) -> Config:
    """The configuration a review runs with in batch mode (module docstring): the batch layout with its
    breakpoints at `ttl`, whose lifetime times the keep-warm; no leader; the batch's deadline."""
    scale = ONE_HOUR_OVER_5M if ttl == "1h" else 1
    return replace(config, warmup=Warmup.NONE, batch_ttl=BaseTTL(ttl),
                   cache_ttl_seconds=config.cache_ttl_seconds * scale,
                   deadline_seconds=max(config.deadline_seconds, BATCH_DEADLINE_SECONDS))


def keep_warm_limit(model: str, ttl: str) -> int:
    """How many keep-warm refreshes of a review's part (interactive reads, full price) one batch round may
    take: as many as cost less than writing the part again in the next round (a batch write at `ttl`).
    Pure: on Sonnet 5.5 (write 2.5 / 4 $/MTok at 5m / 1h, read 0.1) 12 at 5m and 20 at 1h."""
    p = price_of(model)
    write = p.write_1h if ttl == "1h" else p.write_5m
    return math.floor(write * BATCH_FACTOR / p.read + 1e-9)


def custom_id(key: str, params: dict[str, Any]) -> str:
    """A batch item's id: the review's key and a hash of the params (deterministic: a re-run submits
    the same batch, and a replayed cassette matches)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{key}-{digest[:24]}"


def assemble(pending: Sequence[tuple[str, dict[str, Any]]]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The items of one batch from the waiting (custom_id, params): sorted by custom_id, identical
    requests once; and the beta headers any item needs (one header for the whole batch; none in the
    batch layout, which carries every effort at the top level)."""
    items = dict(sorted(pending, key=lambda p: p[0]))
    betas = sorted({b for params in items.values() for b in betas_for(params)})
    return list(items.items()), betas


@dataclass
class _Round:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    waiting: dict[str, list[asyncio.Future[ItemResult]]] = field(default_factory=dict)


class BatchQueue:
    """Collects the requests of every review of a run and submits them as Message Batches (module
    docstring); `batches` lists each batch sent or followed. With a `journal` (an open BatchJournal),
    each batch is written down as soon as the API accepts it, and a request an earlier run already
    sent is read from that run's batch instead of being sent again; one that did not succeed there
    (errored, whose cause may have passed, as an overload does; expired; canceled: none carries an
    answer) or whose batch the API no longer has is sent again."""

    def __init__(self, client: Batches, on_event: OnEvent = ignore,
                 settle_ticks: int = SETTLE_TICKS, settle_seconds: float = SETTLE_SECONDS,
                 journal: BatchJournal | None = None):
        self._client, self._on_event, self._journal = client, on_event, journal
        self._ticks, self._seconds = settle_ticks, settle_seconds
        self._round = _Round()
        self._generation = 0
        self._settling: asyncio.Task[None] | None = None
        self.batches: list[tuple[BatchInfo, int]] = []       # (batch, items)

    def submit(self, key: str, params: dict[str, Any]) -> Awaitable[ItemResult]:
        """Queue one request (in the batch layout, as built) under review `key`; its item's result."""
        cid = custom_id(key, params)
        future: asyncio.Future[ItemResult] = asyncio.get_running_loop().create_future()
        if cid not in self._round.waiting:
            self._round.items.append((cid, params))
        self._round.waiting.setdefault(cid, []).append(future)
        self._generation += 1
        if self._settling is None:
            self._settling = asyncio.create_task(self._send_when_settled())
        return future

    async def _send_when_settled(self) -> None:
        while True:
            seen = self._generation
            for _ in range(self._ticks):
                await asyncio.sleep(0)
            await asyncio.sleep(self._seconds)
            if seen == self._generation:
                break
        this, self._round, self._settling = self._round, _Round(), None
        items, betas = assemble(this.items)
        try:
            results = await self._results(items, betas)
        except BaseException as e:
            for futures in this.waiting.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(e if isinstance(e, Exception) else APIError("the batch was stopped"))
            if not isinstance(e, Exception):
                raise
            return
        for cid, futures in sorted(this.waiting.items()):
            for f in futures:
                if not f.done():
                    f.set_result(results[cid])

    async def _results(self, items: list[tuple[str, dict[str, Any]]], betas: list[str]) -> dict[str, ItemResult]:
        """Every item's result: those the journal names from their earlier batch, the rest from a new one
        (all at once), then the items an earlier batch lost from one more new batch."""
        earlier = self._journal.sent(cid for cid, _ in items) if self._journal is not None else {}
        followed = {cid for cids in earlier.values() for cid in cids}
        fresh = [(cid, params) for cid, params in items if cid not in followed]
        parts = await asyncio.gather(*(self._follow(batch, cids) for batch, cids in earlier.items()),
                                     *([self._send(fresh, betas)] if fresh else []))
        results = {cid: r for part in parts for cid, r in part.items()}
        lost = [(cid, params) for cid, params in items if cid in followed and results[cid].kind != SUCCEEDED]
        if lost:
            results.update(await self._send(lost, betas))
        return results

    async def _send(self, items: list[tuple[str, dict[str, Any]]], betas: list[str]) -> dict[str, ItemResult]:
        cids = [cid for cid, _ in items]

        def accepted(event: Event) -> None:       # journalled before the first poll
            if isinstance(event, BatchSubmitted) and self._journal is not None:
                self._journal.record(event.batch_id, cids)
            self._on_event(event)
        info, results = await self._client.run(items, betas, accepted)
        self.batches.append((info, len(items)))
        return results

    async def _follow(self, batch_id: str, cids: list[str]) -> dict[str, ItemResult]:
        self._on_event(BatchFollowed(batch_id, len(cids)))
        try:
            info, results = await self._client.follow(batch_id, cids, self._on_event)
        except APIError as e:
            if e.status != 404:
                raise
            return {cid: ItemResult(cid, "expired", error=f"batch {batch_id} is gone: {e}") for cid in cids}
        self.batches.append((info, len(cids)))
        return {cid: results[cid] for cid in cids}


class BatchTransport:
    """The Transport one review is given in batch mode: `send` goes through the shared queue under this
    review's `key`; a max_tokens=0 call (a keep-warm) and token counting go to `interactive`, at most
    `keep_warm_limit` keep-warms per batch round (then BudgetExceeded: the review's keep-warm stops)."""

    def __init__(self, queue: BatchQueue, key: str, interactive: Transport, keep_warm_limit: int | None = None):
        self.queue, self.key, self.interactive = queue, key, interactive
        self.keep_warm_limit, self._warmed = keep_warm_limit, 0

    async def send(self, request: Body, on_start: OnStart | None = None) -> Reply:
        if request.get("max_tokens") == 0:
            if self.keep_warm_limit is not None and self._warmed >= self.keep_warm_limit:
                raise BudgetExceeded(f"batch mode: {self.keep_warm_limit} keep-warm refreshes while one batch ran "
                                     "cost as much as writing the prefix again")
            self._warmed += 1
            return await self.interactive.send(request, on_start)
        self._warmed = 0                      # a new round: its wait has its own refreshes
        result = await self.queue.submit(self.key, request)
        if result.reply is None:
            raise APIError(result.error or f"batch item {result.kind}", result.status, ITEM_FAILURE)
        if on_start is not None:
            on_start(Start(result.reply.message_id, result.reply.usage))
        return result.reply

    async def count_tokens(self, request: Body) -> int:
        return await self.interactive.count_tokens(request)


@asynccontextmanager
async def batch_run(connect: Connect, connect_batches: ConnectBatches, connection: Connection, poll_seconds: float,
                    on_event: OnEvent, state_dir: Path | None = None) -> AsyncIterator[tuple[Transport, BatchQueue]]:
    """What a bulk run reviews through: the interactive transport (keep-warms, token counts) and one
    BatchQueue over the Message Batches client, its batches journalled in `state_dir` when given (the
    journal locked first, so a second run stops before any model call); BatchesSent once it is over."""
    with journal_of(state_dir) as journal:
        async with connect(connection) as transport, connect_batches(connection, poll_seconds) as client:
            queue = BatchQueue(client, on_event, journal=journal)
            yield transport, queue
            on_event(BatchesSent(tuple((info.batch_id, n) for info, n in queue.batches)))


@dataclass(frozen=True)
class Job:
    """One review of a batch run: `key` names it (letters, digits, - and _; unique in the run)."""

    key: str
    change: Change
    workspace: Path
    repo: Repository | None = None
    known: tuple[str, ...] | None = None
    keep_state: bool = False                # save each finished agent in workspace/state (--keep-workspace)
    resume: bool = False                    # reuse the agents saved there (--resume)


def failed_review(change: Change, reason: str) -> ReviewResult:
    """A review none of whose calls succeeded, kept as a partial review with the reason."""
    return ReviewResult(meta=change.meta, files_changed=len(change.files), additions=change.additions,
                        deletions=change.deletions, findings=(), verdict=None, overview=None, agents=(),
                        summary=None, rejected=(), low_confidence=(), duplicates_folded=0, calls=(), schedule=None,
                        notes=(f"batch mode: {reason}",),
                        partial_reason=f"no reviewer's batch item succeeded: {reason}")


async def run_batch_reviews(jobs: Sequence[Job], config: Config, queue: BatchQueue,
                            interactive: Callable[[str], Transport],
                            on_event: Callable[[str, Event], None] = lambda key, event: None,
                            wrap: Callable[[BatchTransport], Transport] = lambda t: t,
                            ttl: str = DEFAULT_BATCH_TTL) -> list[ReviewResult]:
    """Review every job, all at once, through `queue`; one ReviewResult per job, in order.
    `interactive(key)` gives the review's interactive sender (keep-warm, token counts); `wrap` lets the
    caller meter a review's transport; `ttl` is the TTL of every breakpoint of the items (module
    docstring). A refused key ends the run (CredentialsError)."""
    bconfig = batch_config(config, ttl)
    limit = keep_warm_limit(config.model, ttl)

    async def one(job: Job) -> ReviewResult:
        transport = wrap(BatchTransport(queue, job.key, interactive(job.key), limit))
        try:
            return await run_review(job.change, bconfig, transport, job.workspace,
                                    lambda event: on_event(job.key, event), keep_state=job.keep_state,
                                    resume=job.resume, known=job.known, repo=job.repo)
        except APIError as e:
            if e.kind != ITEM_FAILURE or isinstance(e, CredentialsError):
                raise                     # the batch itself failed (a refused key, the API down)
            on_event(job.key, BatchReviewFailed(str(e)))
            return failed_review(job.change, str(e))
    return list(await asyncio.gather(*(one(j) for j in jobs)))
