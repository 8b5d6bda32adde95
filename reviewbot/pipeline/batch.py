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

What changes against the interactive review (`batch_config`): every breakpoint gets the 1-hour TTL
(a batch may take longer than 5 minutes, as the batch-processing docs warn, and the 1h entry lives
across the rounds), so the prefix stays byte-identical across all the calls of a review; there is
no leader (a batch has no first event to wait for: the warm-up is "none" and the first item that
the API processes writes the prefix, best-effort as the docs say); the deadline becomes the batch's
own 24 hours. A max_tokens=0 call (a keep-warm) cannot be a batch item and goes to the interactive
transport. An item that ends errored, expired or canceled is that agent's failure (the review is
partial, exit 5); a review all of whose items failed is kept as a partial review with the reason,
never lost. Only a batch that cannot be created or read (a refused key, the API down) fails them all.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reviewbot.config import Config
from reviewbot.domain.change import Change
from reviewbot.domain.enums import BaseTTL, Effort, Warmup
from reviewbot.domain.events import BatchEffortChosen, BatchReviewFailed, Event, OnEvent, ignore
from reviewbot.domain.result import ReviewResult
from reviewbot.domain.specialists import SUMMARY
from reviewbot.errors import APIError, ConfigError, CredentialsError
from reviewbot.llm import providers
from reviewbot.llm.batches import Batches, BatchInfo, ItemResult
from reviewbot.llm.models import EFFORT_LEVELS, model_info
from reviewbot.llm.transport import Body, OnStart, Reply, Start, Transport, betas_for
from reviewbot.llm.usage import price_of
from reviewbot.pipeline.review import prepare, run_review
from reviewbot.pipeline.schedule import estimate_tokens
from reviewbot.repo.tree import Repository

BATCH_DEADLINE_SECONDS = 25 * 3600.0       # a batch expires after 24 h; the review waits that long
ONE_HOUR_OVER_5M = 12                      # the 1h TTL in units of the 5-minute one (cache_ttl_seconds)
SETTLE_TICKS = 50                          # event-loop turns with no new request before a batch is sent
SETTLE_SECONDS = 0.05
ITEM_FAILURE = "batch-item"                # APIError.kind of an item that ended errored, expired or canceled


def check_batch_target(target: providers.Target) -> None:
    """Batch mode's platform gate: a platform without the Message Batches API is a usage error, and so,
    for now, is a cloud platform that has one (its batches are not the Claude API's endpoint)."""
    providers.require_batches(target)
    if target.platform.name != "anthropic":
        raise ConfigError(f"batch mode goes through the Claude API's Message Batches endpoint; on "
                          f"{target.platform.title} review without --batch (provider 'anthropic' has it)")


def batch_config(config: Config, ttl: str = "1h") -> Config:
    """The configuration a review runs with in batch mode (module docstring)."""
    scale = ONE_HOUR_OVER_5M if ttl == "1h" else 1
    return replace(config, warmup=Warmup.NONE, base_ttl=BaseTTL(ttl),
                   cache_ttl_seconds=config.cache_ttl_seconds * scale,
                   deadline_seconds=max(config.deadline_seconds, BATCH_DEADLINE_SECONDS))


def keeps_own_efforts(model: str, prefix_tokens: int, efforts: Sequence[str | None], review_effort: str | None,
                      ttl: str) -> bool:
    """Whether a review in batch mode should keep its agents' own efforts. A batch item takes its effort
    at the top level (batch_params), which is keyed before the messages: every effort level then writes
    the prefix messages once more. Keep them when the thinking they save (the model table's estimate
    per turn) is worth more than those extra writes; else every agent runs at the highest of the
    efforts (no agent thinks less than it would have), with one prefix. Pure."""
    info = model_info(model)
    if not info.effort:
        return True
    base = info.effort_or_default(review_effort)
    levels = {e or base for e in efforts}
    if len(levels) <= 1:
        return True
    price = price_of(model, prefix_tokens)
    write = price.write_1h if ttl == "1h" else price.write_5m
    top = max(levels, key=lambda e: EFFORT_LEVELS.index(e or "high"))
    saving = sum(info.thinking_tokens(top) - info.thinking_tokens(e or base) for e in efforts) * price.output
    return saving > (len(levels) - 1) * prefix_tokens * write


def uniform_effort(config: Config, efforts: Sequence[str | None]) -> Config:
    """`config` with one effort for every agent: the highest of `efforts` (None: the model's default)."""
    info = model_info(config.model)
    base = info.effort_or_default(config.effort)
    top = max((e or base for e in efforts), key=lambda e: EFFORT_LEVELS.index(e or "high"))
    return replace(config, effort=None if top == info.default_effort else Effort(top or "high"), specialist_effort=(),
                   summary_effort=None, effort_policy=False)


def batch_params(request: dict[str, Any], ttl: str = "1h") -> dict[str, Any]:
    """A Messages request as a batch item's params: the same request, every breakpoint at the 1h TTL
    (the cache key ignores cache_control, so the prefix is the interactive one, byte for byte), and an
    agent's own effort, which the interactive request gives as an effort-only system message (a beta),
    as the item's top-level effort: batch items take no beta header (cachesim's do not, and the docs
    do not say the batch's header reaches them). Agents of one effort still share the whole prefix;
    the tools + system part is shared by all (the effort is keyed just before the messages)."""
    params = copy.deepcopy(request)
    own = [m for m in params.get("messages") or () if m.get("role") == "system" and "output_config" in m
           and not m.get("content")]
    if own:
        params["messages"] = [m for m in params["messages"] if not any(m is o for o in own)]
        params["output_config"] = {**(params.get("output_config") or {}), **own[-1]["output_config"]}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "cache_control" in node:
                node["cache_control"] = {"type": "ephemeral", "ttl": ttl}
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(params)
    return params


def custom_id(key: str, params: dict[str, Any]) -> str:
    """A batch item's id: the review's key and a hash of the params (deterministic: a re-run submits
    the same batch, and a replayed cassette matches)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{key}-{digest[:24]}"


def assemble(pending: Sequence[tuple[str, dict[str, Any]]]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The items of one batch from the waiting (custom_id, params): sorted by custom_id, identical
    requests once; and the beta headers any item needs (one header for the whole batch)."""
    items = dict(sorted(pending, key=lambda p: p[0]))
    betas = sorted({b for params in items.values() for b in betas_for(params)})
    return list(items.items()), betas


@dataclass
class _Round:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    waiting: dict[str, list[asyncio.Future[ItemResult]]] = field(default_factory=dict)


class BatchQueue:
    """Collects the requests of every review of a run and submits them as Message Batches (module
    docstring); `batches` lists each batch sent."""

    def __init__(self, client: Batches, on_event: OnEvent = ignore,
                 settle_ticks: int = SETTLE_TICKS, settle_seconds: float = SETTLE_SECONDS):
        self._client, self._on_event = client, on_event
        self._ticks, self._seconds = settle_ticks, settle_seconds
        self._round = _Round()
        self._generation = 0
        self._settling: asyncio.Task[None] | None = None
        self.ttl = "1h"                                      # the breakpoints' TTL in every item
        self.batches: list[tuple[BatchInfo, int]] = []       # (batch, items)

    def submit(self, key: str, request: dict[str, Any]) -> Awaitable[ItemResult]:
        params = batch_params(request, self.ttl)
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
            info, results = await self._client.run(items, betas, self._on_event)
        except BaseException as e:
            for futures in this.waiting.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(e if isinstance(e, Exception) else APIError("the batch was stopped"))
            if not isinstance(e, Exception):
                raise
            return
        self.batches.append((info, len(items)))
        for cid, futures in sorted(this.waiting.items()):
            for f in futures:
                if not f.done():
                    f.set_result(results[cid])


class BatchTransport:
    """The Transport one review is given in batch mode: `send` goes through the shared queue under this
    review's `key`; a max_tokens=0 call and token counting go to `interactive`."""

    def __init__(self, queue: BatchQueue, key: str, interactive: Transport):
        self.queue, self.key, self.interactive = queue, key, interactive

    async def send(self, request: Body, on_start: OnStart | None = None) -> Reply:
        if request.get("max_tokens") == 0:
            return await self.interactive.send(request, on_start)
        result = await self.queue.submit(self.key, request)
        if result.reply is None:
            raise APIError(result.error or f"batch item {result.kind}", result.status, ITEM_FAILURE)
        if on_start is not None:
            on_start(Start(result.reply.message_id, result.reply.usage))
        return result.reply

    async def count_tokens(self, request: Body) -> int:
        return await self.interactive.count_tokens(request)


@dataclass(frozen=True)
class Job:
    """One review of a batch run: `key` names it (letters, digits, - and _; unique in the run)."""

    key: str
    change: Change
    workspace: Path
    repo: Repository | None = None
    known: tuple[str, ...] | None = None
    keep_state: bool = False                # save each finished agent in workspace/state (--keep-workspace)


def failed_review(change: Change, reason: str) -> ReviewResult:
    """A review none of whose calls succeeded, kept as a partial review with the reason."""
    return ReviewResult(meta=change.meta, files_changed=len(change.files), additions=change.additions,
                        deletions=change.deletions, findings=(), verdict=None, overview=None, agents=(),
                        summary=None, rejected=(), low_confidence=(), duplicates_folded=0, calls=(), schedule=None,
                        notes=(f"batch mode: {reason}",),
                        partial_reason=f"no reviewer's batch item succeeded: {reason}")


def review_config(job: Job, config: Config, scratch: Path, ttl: str) -> tuple[Config, BatchEffortChosen]:
    """The batch-mode configuration of one review, and the effort choice made for it (keeps_own_efforts,
    on the shared prefix as the review will build it, in a scratch workspace)."""
    bconfig = batch_config(config, ttl)
    ws, prefix = prepare(job.change, bconfig, scratch, repo=job.repo)
    efforts = [bconfig.effort_for(s.name) for s in ws.plan.specialists] + [bconfig.effort_for(SUMMARY)]
    body = json.dumps({"tools": list(prefix.tools), "system": prefix.system(), "messages": prefix.messages()})
    tokens = estimate_tokens(len(body), model_info(config.model).tokenizer)
    if keeps_own_efforts(config.model, tokens, efforts, config.effort, ttl):
        return bconfig, BatchEffortChosen(True)
    one = uniform_effort(bconfig, efforts)
    return one, BatchEffortChosen(False, one.effort, tokens)


async def run_batch_reviews(jobs: Sequence[Job], config: Config, queue: BatchQueue,
                            interactive: Callable[[str], Transport],
                            on_event: Callable[[str, Event], None] = lambda key, event: None,
                            wrap: Callable[[BatchTransport], Transport] = lambda t: t,
                            ttl: str = "1h") -> list[ReviewResult]:
    """Review every job, all at once, through `queue`; one ReviewResult per job, in order.
    `interactive(key)` gives the review's interactive sender (keep-warm, token counts); `wrap` lets the
    caller meter a review's transport; `ttl` is the breakpoints' TTL (1h, as the batch docs advise; 5m
    writes at 1.25x instead of 2x when the rounds follow each other within 5 minutes). A refused key
    ends the run (CredentialsError)."""
    queue.ttl = ttl

    async def one(job: Job) -> ReviewResult:
        transport = wrap(BatchTransport(queue, job.key, interactive(job.key)))
        with tempfile.TemporaryDirectory(prefix="reviewbot-batch-plan-") as tmp:
            bconfig, choice = review_config(job, config, Path(tmp) / "ws", ttl)
        on_event(job.key, choice)
        try:
            result = await run_review(job.change, bconfig, transport, job.workspace,
                                      lambda event: on_event(job.key, event), keep_state=job.keep_state,
                                      known=job.known, repo=job.repo)
            return replace(result, notes=(*result.notes, choice.note))
        except APIError as e:
            if e.kind != ITEM_FAILURE or isinstance(e, CredentialsError):
                raise                     # the batch itself failed (a refused key, the API down)
            on_event(job.key, BatchReviewFailed(str(e)))
            return failed_review(job.change, str(e))
    return list(await asyncio.gather(*(one(j) for j in jobs)))
