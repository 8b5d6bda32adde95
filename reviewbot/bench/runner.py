"""Running the benchmark: PRs -> reviews -> rows -> files, against cachesim or the real API.

Against cachesim (`--corpus DIR --cachesim PATH/server.py`): it clones each bundle, runs `run_review`
in-process, slices the ledger by request number around each review, and hands everything to
reviewbot.bench.metrics. The interactive pass, whose wall time and critical path are figures of the
run, goes to a cachesim at a realistic speed (cachesim.REALISTIC, times --time-scale). The reviews
run one after another against that ONE cachesim without resets (unless asked), so the tools + system
prefix can hit across PRs: that is part of what is measured, and each PR's ideal-caching bound is
then its marginal one (metrics.marginal_oracle) over that cachesim's ledger.

The comparison passes, whose figures are dollars and tokens (time plays no part in them), go to a
second cachesim at cachesim's own fast latency, each after a reset of it, each PR found in its own
ledger: the uniform-effort pass (the same reviews, one after another, every agent at the model's
default effort), the naive pass (`mode="naive"`: context in every prompt, no breakpoints, no
warm-up; off by default), and the batch pass (every PR reviewed at once in batch mode,
reviewbot.pipeline.batch, each PR's batch items found by their custom_id). With --api-url every
pass goes to that one cachesim, reset before each comparison pass.

Against the real API (`--repo DIR RANGE...`, ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL is honoured): the
user's own ranges, reviewed one after another; the numbers come from the bot's own call records
(dollars at the model's prices, thinking, wall time against the critical path, the summary's share,
the prefix's avoidable part); there is no oracle and no race count. `--batch` adds the batch pass
(first), `--uniform` the uniform-effort pass (last: it reads what the interactive pass cached, so
its dollars, and the effort ratio's denominator, are if anything too low).
"""
from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import git

from reviewbot.bench import cachesim as sim_io
from reviewbot.bench.chart import require_matplotlib, write_chart
from reviewbot.bench.metrics import (
    DEFAULT_TARGETS,
    Row,
    Targets,
    calls_split,
    calls_summary,
    entries_after,
    last_n,
    make_row,
    marginal_oracle,
    with_batch,
    with_batch_calls,
    with_naive_bot,
    with_uniform,
    with_uniform_calls,
)
from reviewbot.bench.prefix import prefix_waste
from reviewbot.bench.report import render_markdown, to_json
from reviewbot.change.gitsource import read_local_change
from reviewbot.change.ranges import read_ranges
from reviewbot.config import Config
from reviewbot.domain.change import Change
from reviewbot.domain.enums import DEFAULT_BATCH_TTL, Mode
from reviewbot.domain.events import Event, OfReview, OnEvent, ignore
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import InputError, ReviewbotError
from reviewbot.llm.batches import connect_anthropic_batches
from reviewbot.llm.transport import Connection, connect_anthropic
from reviewbot.output.files import out_dir
from reviewbot.output.terminal import describe
from reviewbot.pipeline.batch import BatchQueue, Job, run_batch_reviews
from reviewbot.pipeline.review import prepare, run_review
from reviewbot.repo.local import local_repository
from reviewbot.repo.tree import Repository

API_KEY = "bench"                      # cachesim accepts any key; a real key is never needed here
BATCH_POLL_SECONDS = 0.2               # cachesim's batches end in seconds


@dataclass(frozen=True)
class BenchOptions:
    corpus: Path | None                # a directory of NAME.bundle (cachesim mode); None with `repo`
    config: Config
    out: Path
    entries: tuple[str, ...] = ()      # corpus entries (empty: all), or with `repo` the ranges
    cachesim: Path | None = None       # server.py; its analyze.py is used even with api_url
    api_url: str | None = None         # a cachesim already running; else the bench starts two
    time_scale: float | None = None    # multiplies the interactive cachesim's latency (None: 1, real speed)
    reset_between: bool = False
    naive: bool = False                # also run the bot's naive mode for the comparison
    verbose: bool = False
    batch: bool = True                 # also review every PR in batch mode for the comparison
    repo: Path | None = None           # the real API: ranges (`entries`) of this repository
    api_key: str | None = None         # the real API's key (ANTHROPIC_API_KEY)
    batch_ttl: str = DEFAULT_BATCH_TTL      # the batch items' breakpoint TTL
    uniform: bool = True               # also review every PR at uniform default effort (the effort ratio)
    latency: sim_io.Latency | None = sim_io.REALISTIC   # the interactive cachesim's (None: cachesim's own)


@dataclass(frozen=True)
class CorpusEntry:
    name: str
    bundle: Path
    meta: dict[str, Any]


def corpus_entries(corpus: Path, names: tuple[str, ...] = ()) -> list[CorpusEntry]:
    """NAME.bundle (+ NAME.json) of the corpus directory, sorted by name, or the named ones."""
    if not corpus.is_dir():
        raise InputError(f"corpus directory not found: {corpus} (give --corpus DIR)")
    found = {p.stem: p for p in sorted(corpus.glob("*.bundle"))}
    if not found:
        raise InputError(f"no NAME.bundle entries in {corpus}")
    unknown = [n for n in names if n not in found]
    if unknown:
        raise InputError(f"no corpus entry {unknown[0]!r} in {corpus} (known: {', '.join(found)})")
    entries = []
    for name in dict.fromkeys(names) or found:
        meta_path = found[name].with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{meta_path}: invalid JSON: {e}") from None
        entries.append(CorpusEntry(name, found[name], meta))
    return entries


def clone(entry: CorpusEntry, into: Path) -> Path:
    """The bundle as a repository at into/NAME (so its metadata is the same on every run), with local
    branches base and pr."""
    dest = into / entry.name
    try:
        repo = git.Repo.clone_from(str(entry.bundle), str(dest))
        with repo:
            repo.git.checkout("-q", "-B", "pr", "origin/pr")
            repo.git.branch("-q", "-f", "base", "origin/base")
    except git.GitCommandError as e:
        detail = (e.stderr or str(e)).strip().splitlines()
        raise InputError(f"cannot clone {entry.bundle}: {detail[-1] if detail else e}") from None
    return dest


def uniform_config(config: Config) -> Config:
    """`config` with every agent at the model's default effort: no effort policy, no effort of the
    review's or of any agent's own."""
    return replace(config, effort=None, specialist_effort=(), summary_effort=None, effort_policy=False)


def naive_config(config: Config) -> Config | None:
    """`config` in the bot's naive mode, or None when its Config class has no `mode` field."""
    if "mode" not in {f.name for f in fields(config)}:
        return None
    return replace(config, mode=Mode.NAIVE)


async def _review(change: Change, config: Config, url: str, workspace: Path,
                  on_event: OnEvent, repo: Repository | None = None) -> tuple[ReviewResult, float]:
    async with connect_anthropic(Connection(API_KEY, config.max_retries, config.timeout_seconds, base_url=url)) as t:
        t0 = time.monotonic()
        result = await run_review(change, config, t, workspace, on_event, repo=repo)
        return result, time.monotonic() - t0


def _waste(change: Change, config: Config, workspace: Path, repo: Repository | None) -> dict[str, Any]:
    """The shared prefix's size and avoidable part, as the review built it (prepare is pure but for
    the workspace it writes, here a scratch one)."""
    _, prefix = prepare(change, config, workspace, repo=repo)
    w = prefix_waste(prefix)
    return {"prefix_chars": w.total, "avoidable_chars": w.avoidable}


def _measure(sim: sim_io.Cachesim, analyze: ModuleType, change: Change, config: Config, url: str, workspace: Path,
             reset: bool, on_event: OnEvent, repo: Repository | None = None
             ) -> tuple[ReviewResult, float, list[dict[str, Any]], dict[str, Any]]:
    """One review; its ledger slice and analyze.summarize of it."""
    if reset:
        sim.reset()
    before = last_n(sim.ledger())
    result, wall = asyncio.run(_review(change, config, url, workspace, on_event, repo))
    entries = entries_after(sim.ledger(), before)
    return result, wall, entries, analyze.summarize(entries)


@contextmanager
def _naming(entry: str) -> Iterator[None]:
    """A failure while reviewing an entry says which entry it was (same error class, same exit code)."""
    try:
        yield
    except ReviewbotError as e:
        raise type(e)(f"{entry}: {e}") from None


def _sequential(sim: sim_io.Cachesim, analyze: ModuleType, entries: list[CorpusEntry], changes: list[Change],
                repos: list[Repository | None], config: Config, url: str, workspaces: Path, reset: bool,
                on_event: OnEvent, suffix: str = "") -> Iterator[tuple[ReviewResult, float, list[dict[str, Any]],
                                                                         dict[str, Any]]]:
    """Every PR reviewed one after another against `sim`: the result, wall time, ledger slice and its
    summary of each."""
    for e, change, repo in zip(entries, changes, repos, strict=True):
        with _naming(e.name + suffix):
            yield _measure(sim, analyze, change, config, url, workspaces / e.name, reset, on_event, repo)


def run_bench(opts: BenchOptions, log: Callable[[str], None]) -> list[Row]:
    """Review every entry (the interactive pass), then the comparison passes (uniform effort, naive mode,
    batch mode); one Row per entry. With `opts.repo`, the real API (run_api_bench)."""
    if opts.repo is not None:
        return run_api_bench(opts, log)
    if opts.corpus is None or opts.cachesim is None:
        raise InputError("the cachesim bench needs --corpus DIR and --cachesim PATH/server.py")
    began = time.monotonic()
    entries = corpus_entries(opts.corpus, opts.entries)
    analyze = sim_io.load_analyze(opts.cachesim.parent)
    require_matplotlib()                                   # fail before the long part, not after it
    out_dir(opts.out)
    naive = naive_config(opts.config) if opts.naive else None
    if opts.naive and naive is None:
        log("reviewbot.config.Config has no 'mode' field yet: the naive-mode comparison is skipped")
    uniform = uniform_config(opts.config) if opts.uniform else None
    if uniform == opts.config:
        log("the review already runs every agent at the model's default effort: the uniform-effort pass is skipped")
        uniform = None
    def shown(event: Event) -> None:
        log(f"  {describe(event)}")
    on_event = shown if opts.verbose else ignore
    compare = uniform is not None or naive is not None or opts.batch
    server: AbstractContextManager[str]
    fast: AbstractContextManager[str | None]
    if opts.api_url is None:
        server = sim_io.started(opts.cachesim, opts.time_scale, latency=opts.latency)
        fast = sim_io.started(opts.cachesim) if compare else nullcontext(None)
    else:
        server, fast = nullcontext(opts.api_url), nullcontext(opts.api_url if compare else None)
    rows: list[Row] = []
    with server as url, fast as fast_url, tempfile.TemporaryDirectory(prefix="reviewbot-bench-") as tmp:
        speed = ("external" if opts.api_url else
                 f"{_speed(opts.latency)}, time scale {opts.time_scale or 1.0:g}")
        log(f"cachesim at {url} ({speed}); {len(entries)} PR(s); model {opts.config.model}, warm-up "
            f"{opts.config.warmup}, {opts.config.routing} routing")
        sim = sim_io.Cachesim(url)
        changes, repos = [], []
        for e in entries:
            with _naming(e.name):
                cloned = clone(e, Path(tmp))
                changes.append(read_local_change(cloned, "base", "pr"))
                repos.append(local_repository(cloned, changes[-1].meta.head_sha, changes[-1].meta.base_sha)
                             if opts.config.repository else None)
        earlier: list[dict[str, Any]] = []                           # this run's entries so far, one shared cache
        t0 = time.monotonic()
        passes = _sequential(sim, analyze, entries, changes, repos, opts.config, url, Path(tmp) / "ws",
                             opts.reset_between, on_event)
        for i, (e, change, repo, (result, wall, ledger, summary)) in enumerate(
                zip(entries, changes, repos, passes, strict=True), 1):
            oracle = None if opts.reset_between else marginal_oracle(analyze.oracle_cost, earlier, ledger)
            earlier += ledger
            row = make_row(e.name, result.files_changed, result.additions, result.deletions, ledger, summary,
                           result.calls, wall, ((a.name, a.status) for a in result.agents), result.complete,
                           oracle, related_tokens=result.related.tokens if result.related else 0,
                           tool_calls=result.tool_calls, **_waste(change, opts.config, Path(tmp) / "ws-waste" / e.name,
                                                                   repo))
            rows.append(row)
            log(f"[{i}/{len(entries)}] {e.name}: {row.files} files, {row.calls} calls, ${row.split.total:.4f}, "
                f"{wall:.1f}s, wall/crit {row.wall_over_critical or 0:.3f}, summary {row.summary_share or 0:.0%}")
        log(f"interactive pass: {time.monotonic() - t0:.0f}s")
        if fast_url is not None:
            how = "reset before each pass" if opts.api_url else "cachesim's own latency"
            log(f"comparison passes on cachesim at {fast_url} ({how})")
            rows = _compare(opts, sim_io.Cachesim(fast_url), analyze, entries, changes, repos, rows, fast_url,
                            Path(tmp), uniform, naive, on_event, log)
    log(f"the bench took {time.monotonic() - began:.0f}s")
    return rows


def _speed(latency: sim_io.Latency | None) -> str:
    if latency is None:
        return "cachesim's own latency"
    return (f"{latency.output_tps:g} output tokens/s, first token {latency.ttft_base:g}s + input at "
            f"{latency.prefill_tps:g} tokens/s")


def _compare(opts: BenchOptions, sim: sim_io.Cachesim, analyze: ModuleType, entries: list[CorpusEntry],
             changes: list[Change], repos: list[Repository | None], rows: list[Row], url: str, tmp: Path,
             uniform: Config | None, naive: Config | None, on_event: OnEvent,
             log: Callable[[str], None]) -> list[Row]:
    """The comparison passes, each after a reset of `sim`: uniform effort, naive mode, batch mode."""
    rows = list(rows)
    if uniform is not None:
        t0 = time.monotonic()
        sim.reset()                                        # the same start as the interactive pass: an empty cache
        for i, (_, _, ledger, _) in enumerate(_sequential(sim, analyze, entries, changes, repos, uniform, url,
                                                          tmp / "ws-uniform", opts.reset_between, on_event,
                                                          " (uniform effort)")):
            rows[i] = with_uniform(rows[i], ledger)
        log(f"[uniform effort] {len(entries)} PR(s) in {time.monotonic() - t0:.0f}s: policy/uniform "
            f"{sum(r.split.total for r in rows) / (sum(r.uniform_usd or 0 for r in rows) or 1):.3f}")
    if naive is not None:
        sim.reset()
        for i, (_, wall, ledger, summary) in enumerate(_sequential(sim, analyze, entries, changes, repos, naive,
                                                                   url, tmp / "ws-naive", opts.reset_between,
                                                                   on_event, " (naive mode)")):
            rows[i] = with_naive_bot(rows[i], ledger, summary)
            log(f"[naive {i + 1}/{len(entries)}] {entries[i].name}: {summary['requests']} calls, {wall:.1f}s, "
                f"cached/naive {rows[i].vs_naive_bot or 0:.3f}")
    if opts.batch:
        sim.reset()                                        # the batch pass reads nothing the others wrote
        keys = [f"b{i:03d}" for i in range(1, len(entries) + 1)]
        jobs = [Job(k, c, tmp / "ws-batch" / k, r) for k, c, r in zip(keys, changes, repos, strict=True)]
        connection = Connection(API_KEY, opts.config.max_retries, opts.config.timeout_seconds, base_url=url)
        with _naming("batch mode"):
            _, wall = asyncio.run(_batch(jobs, opts.config, opts.batch_ttl, connection, on_event,
                                         BATCH_POLL_SECONDS))
        ledger = sim.ledger()
        for i, k in enumerate(keys):
            rows[i] = with_batch(rows[i], [x for x in ledger if str(x.get("custom_id", "")).startswith(k + "-")])
        log(f"[batch] {len(entries)} PR(s) in {wall:.1f}s: batch/interactive "
            f"{sum(r.batch_usd or 0 for r in rows) / (sum(r.split.total for r in rows) or 1):.3f}")
    return rows


async def _batch(jobs: list[Job], config: Config, ttl: str, connection: Connection, on_event: OnEvent,
                 poll_seconds: float = 1.0) -> tuple[list[ReviewResult], float]:
    """Every job reviewed at once in batch mode; the results and the wall time of the whole pass."""
    async with connect_anthropic(connection) as transport, \
            connect_anthropic_batches(connection, poll_seconds) as client:
        t0 = time.monotonic()
        queue = BatchQueue(client, on_event)
        results = await run_batch_reviews(jobs, config, queue, lambda _: transport,
                                          lambda key, event: on_event(OfReview(key, event)), ttl=ttl)
        return results, time.monotonic() - t0


def run_api_bench(opts: BenchOptions, log: Callable[[str], None]) -> list[Row]:
    """The user's own ranges against the real API (module docstring); one Row per range."""
    if opts.repo is None:
        raise InputError("the real-API bench needs --repo DIR and its ranges")
    items = read_ranges(opts.repo, list(opts.entries))
    require_matplotlib()
    out_dir(opts.out)
    def shown(event: Event) -> None:
        log(f"  {describe(event)}")
    on_event = shown if opts.verbose else ignore
    c = opts.config
    connection = Connection(opts.api_key, c.max_retries, c.timeout_seconds, stall_seconds=c.stall_seconds)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="reviewbot-bench-") as tmp:
        log(f"the API at {os.environ.get('ANTHROPIC_BASE_URL') or 'api.anthropic.com'}; {len(items)} range(s); "
            f"model {c.model}, warm-up {c.warmup}, {c.routing} routing")
        repos = [local_repository(opts.repo, it.change.meta.head_sha, it.change.meta.base_sha) if c.repository
                 else None for it in items]
        # The batch pass goes first: the real API cannot be reset, and the pass that runs second reads what
        # the first one cached; this way that credit goes to the interactive review, not to the batch one.
        batched: dict[str, ReviewResult] = {}
        if opts.batch:
            jobs = [Job(it.key, it.change, Path(tmp) / "ws-batch" / it.key, repo)
                    for it, repo in zip(items, repos, strict=True) if it.change.files]
            with _naming("batch mode"):
                results, wall = asyncio.run(_batch(jobs, c, opts.batch_ttl, connection, on_event))
            batched = {j.key: r for j, r in zip(jobs, results, strict=True)}
            log(f"[batch] {len(jobs)} range(s) in {wall:.1f}s")
        keys: list[str] = []
        for i, (it, repo) in enumerate(zip(items, repos, strict=True), 1):
            if not it.change.files:
                log(f"[{i}/{len(items)}] {it.spec}: nothing to review, skipped")
                continue

            async def one(change: Change = it.change, repo: Repository | None = repo,
                          key: str = it.key) -> tuple[ReviewResult, float]:
                async with connect_anthropic(connection) as transport:
                    t0 = time.monotonic()
                    result = await run_review(change, c, transport, Path(tmp) / "ws" / key, on_event, repo=repo)
                    return result, time.monotonic() - t0
            with _naming(it.spec):
                result, wall = asyncio.run(one())
            row = make_row(it.spec, result.files_changed, result.additions, result.deletions, [],
                           calls_summary(result.calls), result.calls, wall,
                           ((a.name, a.status) for a in result.agents), result.complete,
                           related_tokens=result.related.tokens if result.related else 0,
                           tool_calls=result.tool_calls, dollars=calls_split(result.calls),
                           **_waste(it.change, c, Path(tmp) / "ws-waste" / it.key, repo))
            first = min(result.calls, key=lambda call: call.started, default=None)
            if first is not None:           # the shared prefix as the API billed the first call (no ledger)
                row = replace(row, prefix_tokens=first.usage.cache_write + first.usage.cache_read)
            rows.append(row)
            keys.append(it.key)
            log(f"[{i}/{len(items)}] {it.spec}: {row.files} files, {row.calls} calls, ${row.split.total:.4f}, "
                f"{wall:.1f}s")
        if batched:
            rows = [with_batch_calls(r, batched[key].calls) for r, key in zip(rows, keys, strict=True)]
        uniform = uniform_config(c)
        if opts.uniform and uniform != c:
            by_key = {it.key: (it, repo) for it, repo in zip(items, repos, strict=True)}
            for i, key in enumerate(keys):
                it, repo = by_key[key]

                async def again(change: Change = it.change, repo: Repository | None = repo,
                                key: str = key) -> ReviewResult:
                    async with connect_anthropic(connection) as transport:
                        return await run_review(change, uniform, transport, Path(tmp) / "ws-uniform" / key,
                                                on_event, repo=repo)
                with _naming(it.spec + " (uniform effort)"):
                    rows[i] = with_uniform_calls(rows[i], asyncio.run(again()).calls)
                log(f"[uniform {i + 1}/{len(keys)}] {it.spec}: ${rows[i].uniform_usd or 0:.4f}")
    return rows


def settings(opts: BenchOptions, naive_ran: bool, batch_ran: bool = False,
             uniform_ran: bool = False) -> dict[str, Any]:
    c = opts.config
    where = ("the real API" if opts.repo is not None else "external" if opts.api_url else "started by the bench")
    simulated = opts.repo is None and opts.api_url is None
    return {"model": c.model, "warmup": c.warmup, "base_ttl": c.base_ttl, "routing": c.routing,
            "effort_policy": c.effort_policy,
            "time_scale": (opts.time_scale or 1.0) if simulated else None,
            "latency": asdict(opts.latency) if simulated and opts.latency is not None else None,
            "batch_ttl": opts.batch_ttl if batch_ran else None,
            "reset_between": opts.reset_between, "naive_mode_compared": naive_ran, "batch_mode_compared": batch_ran,
            "uniform_effort_compared": uniform_ran, "cachesim": where}


def write_outputs(rows: list[Row], opts: BenchOptions, targets: Targets = DEFAULT_TARGETS) -> str:
    """bench.json, bench.md and bench.png in opts.out; returns the markdown table."""
    ran_naive = bool(rows) and all(r.naive_bot is not None for r in rows)
    ran_batch = bool(rows) and all(r.batch_usd is not None for r in rows)
    ran_uniform = bool(rows) and all(r.uniform_usd is not None for r in rows)
    c = opts.config
    title = (f"reviewbot bench: {c.model}, warm-up {c.warmup}, base TTL {c.base_ttl}, {c.routing} routing"
             + ("" if c.effort_policy else ", uniform effort"))
    md = render_markdown(rows, targets, title)
    out_dir(opts.out)
    try:
        doc = to_json(rows, targets, settings(opts, ran_naive, ran_batch, ran_uniform))
        (opts.out / "bench.json").write_text(json.dumps(doc, indent=2) + "\n")
        (opts.out / "bench.md").write_text(md)
        write_chart(rows, opts.out / "bench.png", title)
    except OSError as e:
        raise InputError(f"cannot write the results to {opts.out}: {e.strerror or e}") from None
    return md
