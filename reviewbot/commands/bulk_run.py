"""The run of `reviewbot bulk` (its flags: reviewbot.commands.bulk): read every range, review them all
together in batch mode (reviewbot.pipeline.batch), write each review to --out. With `--github
OWNER/NAME` the arguments are pull requests, and the run is reviewbot.github.bulk (read each PR as
`reviewbot github` does, one batch run, post each review as it does).

Config is read once, from --config or the working tree. Every range is read before any call (a range
that cannot be read is exit 3, nothing sent). The transports are opened from one Connection and
passed in: `connect` for what a batch cannot take (token counts, a keep-warm), `connect_batches` for
the Message Batches client. With --state-dir the batches are journalled there (pipeline.journal), so
a re-run after a kill follows them instead of paying again. Each call is metered (pipeline.metered:
one CallFinished each, at the batch price); progress is one ProgressPrinter, each review's events
named by its range (OfReview).
"""
from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from reviewbot.change.ranges import RangeChange, read_ranges
from reviewbot.config import Config, load_config, with_overrides
from reviewbot.domain.events import OfReview, RangesSkipped
from reviewbot.domain.findings import reaches
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, ConfigError, InputError, MissingCredentials, Outcome
from reviewbot.llm import providers
from reviewbot.llm.batches import ConnectBatches, connect_anthropic_batches
from reviewbot.llm.transport import Connect, Connection, connect_anthropic
from reviewbot.llm.usage import CallRecord, call_cost, interactive_cost, summarize
from reviewbot.output.files import out_dir, write_review
from reviewbot.output.render import review_line
from reviewbot.output.terminal import QUIET, ProgressPrinter, progress_level
from reviewbot.pipeline.batch import Job, batch_run, check_batch_target, run_batch_reviews
from reviewbot.pipeline.metered import Metered
from reviewbot.repo.local import local_repository
from reviewbot.secrets import known_secrets

if TYPE_CHECKING:
    import argparse

def file_stem(item: RangeChange) -> str:
    return f"{item.key[1:]}-{re.sub(r'[^A-Za-z0-9._-]+', '_', item.spec)[:60]}"


def exit_code(results: list[ReviewResult], fail_on: str | None) -> int:
    if any(reaches((f.severity for f in r.findings), fail_on) for r in results):
        return EXIT_FINDINGS
    return EXIT_OK if all(r.complete for r in results) else EXIT_PARTIAL


def summary_line(item: RangeChange, result: ReviewResult, path: Path) -> str:
    return f"{item.spec}: {review_line(result)} -> {path}"


def run_usage(calls: list[CallRecord]) -> str:
    run = summarize(tuple(calls))
    discount = sum(interactive_cost(c) - call_cost(c) for c in calls)
    return (f"usage: {run.calls} calls over all reviews, cost ${run.cost:.4f} (batch discount ${discount:.4f}; "
            f"without caching ${run.naive_cost:.4f}), {run.usage.thinking_tokens:,} thinking tokens")


async def _review_all(items: list[RangeChange], config: Config, repo: Path, connection: Connection,
                      progress: ProgressPrinter, poll_seconds: float, workspaces: Path, connect: Connect,
                      connect_batches: ConnectBatches, ttl: str, state_dir: Path | None) -> list[ReviewResult]:
    async with batch_run(connect, connect_batches, connection, poll_seconds, progress,
                         state_dir) as (transport, queue):
        jobs = [Job(it.key, it.change, workspaces / it.key,
                    local_repository(repo, it.change.meta.head_sha, it.change.meta.base_sha)
                    if config.repository else None, known_secrets(it.change)) for it in items]
        names = {it.key: it.spec for it in items}
        return await run_batch_reviews(jobs, config, queue, lambda _: transport,
                                       lambda key, event: progress(OfReview(names[key], event)),
                                       lambda t: Metered(t, progress), ttl=ttl)


def bulk(args: argparse.Namespace, connect: Connect = connect_anthropic,
         connect_batches: ConnectBatches = connect_anthropic_batches) -> Outcome:
    """`connect` / `connect_batches` open the model transport and the batches client (a test passes its own)."""
    if args.poll_seconds <= 0:
        raise ConfigError(f"--poll-seconds must be positive, got {args.poll_seconds}")
    if args.github:
        from reviewbot.github.bulk import bulk_github
        return bulk_github(args, connect, connect_batches, run_usage)
    if args.no_post:
        raise ConfigError("--no-post is for pull requests (--github OWNER/NAME); a local bulk run posts nothing")
    progress = ProgressPrinter(sys.stderr, progress_level(args.quiet, args.verbose))
    repo = args.repo.resolve()
    if not repo.is_dir():
        raise InputError(f"--repo {args.repo}: no such directory")
    config = load_config(repo, args.config)
    config = with_overrides(config, model=args.model, **providers.overrides(args))
    target = providers.resolve(config, os.environ)
    config = providers.apply(config, target)
    check_batch_target(target)
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        raise MissingCredentials("ANTHROPIC_API_KEY is not set")
    items = read_ranges(repo, list(args.ranges))
    progress.known = tuple(dict.fromkeys(s for it in items for s in known_secrets(it.change)))
    empty = tuple(it.spec for it in items if not it.change.files)
    if empty:
        progress(RangesSkipped(empty))
    todo = [it for it in items if it.change.files]
    out_dir(args.out)
    connection = Connection.of(config, api_key, target)
    with tempfile.TemporaryDirectory(prefix="reviewbot-bulk-") as tmp:
        results = asyncio.run(_review_all(todo, config, repo, connection, progress, args.poll_seconds, Path(tmp),
                                          connect, connect_batches, args.batch_ttl, args.state_dir)) if todo else []
    calls: list[CallRecord] = []
    for it, result in zip(todo, results, strict=True):
        path = write_review(result, args.format, args.out, file_stem(it))
        print(summary_line(it, result, path))
        calls += result.calls
    if progress.level > QUIET:
        print(f"reviewbot: {run_usage(calls)}", file=sys.stderr)
    return Outcome(exit_code(results, args.fail_on))
