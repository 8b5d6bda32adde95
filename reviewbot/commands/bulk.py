"""`reviewbot bulk`: review many ranges of one repository at once, through the Message Batches API.

For reviews nobody waits for (a backlog, the nightly review of merged commits, auditing a branch):
every range is read and planned first, then all of them are reviewed together in batch mode
(reviewbot.pipeline.batch): the specialists of every review go in one Message Batch, their further
tool rounds in the next ones, the summaries after; every token at half the price. Each review is
written to --out as `NN-<range>.<ext>` in --format (markdown, json or sarif, the outputs of
`reviewbot review`); stdout gets one line per review (verdict, findings, cost, partial or not), stderr
the progress and the usage line of the whole run.

A RANGE is `BASE..HEAD` (the change HEAD brings into BASE, from their merge-base, as `reviewbot
review --base BASE --head HEAD`), or a single commit `REV` (the change of that commit: `REV^..REV`).
Configuration: --config FILE, else the working tree's .reviewbot.toml / pyproject.toml, read once.
Exit codes: 0 all reviewed, 1 --fail-on reached in some review (wins over 5), 2 usage, 3 a range
cannot be read (before any call), 4 the batch itself failed (a refused key, the API down), 5 some
review is partial (an item errored, expired or was canceled, a reviewer failed).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

from reviewbot.agents.tools import SEVERITIES
from reviewbot.change.ranges import RangeChange, read_ranges
from reviewbot.config import Config, load_config, with_overrides
from reviewbot.domain.findings import reaches
from reviewbot.errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, ConfigError, InputError, Outcome
from reviewbot.llm import providers
from reviewbot.llm.batches import BatchClient
from reviewbot.llm.transport import Transport, client_from_env
from reviewbot.llm.usage import CallRecord, summarize
from reviewbot.output.render import FORMATS, render
from reviewbot.output.terminal import NORMAL, QUIET, VERBOSE, ProgressPrinter
from reviewbot.pipeline.batch import BatchQueue, Job, check_batch_target, run_batch_reviews
from reviewbot.pipeline.review import ReviewResult
from reviewbot.repo.local import local_repository
from reviewbot.secrets import known_secrets

EXTENSIONS = {"markdown": "md", "json": "json", "sarif": "sarif"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser(
        "bulk", help="review many ranges of a repository at once, through the Message Batches API (half price)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review every RANGE (BASE..HEAD, or one commit REV) of --repo together in batch mode:\n"
                    "all specialists in one Message Batch, then their tool rounds, then the summaries.\n"
                    "Each review goes to --out; stdout gets one line per review.",
        epilog=f"""exit codes:
  0  every range reviewed
  {EXIT_FINDINGS}  --fail-on threshold reached in some review (wins over 5)
  2  usage or configuration error
  3  a range cannot be read (nothing was sent)
  4  the batch failed (the API refused the key, or failed after retries)
  {EXIT_PARTIAL}  some review is partial (a batch item errored, expired or was canceled, or a reviewer failed)

examples:
  reviewbot bulk main..feature-a main..feature-b --out reviews/
  reviewbot bulk $(git rev-list --since=yesterday main) --format json --out nightly/""")
    b.add_argument("ranges", nargs="+", metavar="RANGE", help="BASE..HEAD, or a commit REV (its own change)")
    b.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                   help="the git repository (default: current directory)")
    b.add_argument("--out", type=Path, default=Path("reviewbot-bulk"), metavar="DIR",
                   help="where each review is written (default: ./reviewbot-bulk)")
    b.add_argument("--format", choices=sorted(FORMATS), default="markdown",
                   help="format of each review file (default: markdown)")
    b.add_argument("--config", type=Path, metavar="FILE",
                   help="config file (default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml, of the "
                        "working tree)")
    b.add_argument("--model", metavar="ID", help="model id from reviewbot's model table")
    b.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when some review reports a finding of this severity or worse")
    b.add_argument("--poll-seconds", type=float, default=1.0, metavar="S",
                   help="first wait before polling a batch; each wait is 1.5x the last, at most 60s (default: 1)")
    b.add_argument("--batch-ttl", choices=("1h", "5m"), default="1h",
                   help="TTL of the cache breakpoints in the batch items (default: 1h, as the batch docs advise; "
                        "5m writes at 1.25x instead of 2x, and pays when the rounds follow within 5 minutes)")
    providers.add_arguments(b)
    noise = b.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="nothing on stderr but errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="also one line per API call")
    b.set_defaults(run=run)


def file_stem(item: RangeChange) -> str:
    return f"{item.key[1:]}-{re.sub(r'[^A-Za-z0-9._-]+', '_', item.spec)[:60]}"


def exit_code(results: list[ReviewResult], fail_on: str | None) -> int:
    if any(reaches((f.severity for f in r.findings), fail_on) for r in results):
        return EXIT_FINDINGS
    return EXIT_OK if all(r.complete for r in results) else EXIT_PARTIAL


def summary_line(item: RangeChange, result: ReviewResult, path: Path) -> str:
    run = summarize(result.calls)
    state = "complete" if result.complete else f"PARTIAL: {result.partial_reason or 'a reviewer failed'}"
    return (f"{item.spec}: {result.verdict or 'no verdict'}, {len(result.findings)} finding(s), "
            f"{run.calls} call(s), ${run.cost:.4f}, {state} -> {path}")


def run_usage(calls: list[CallRecord]) -> str:
    run = summarize(tuple(calls))
    discount = sum(c.interactive_cost - c.cost for c in calls)
    return (f"usage: {run.calls} calls over all reviews, cost ${run.cost:.4f} (batch discount ${discount:.4f}; "
            f"without caching ${run.naive_cost:.4f}), {run.usage.thinking_tokens:,} thinking tokens")


async def _review_all(items: list[RangeChange], config: Config, repo: Path, target: providers.Target,
                      progress: ProgressPrinter, poll_seconds: float, workspaces: Path,
                      ttl: str = "1h") -> list[ReviewResult]:
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
    async with client_from_env(api_key, config.max_retries, config.timeout_seconds,
                               stall_seconds=config.stall_seconds, target=target) as client:
        transport = Transport(client, stall_seconds=config.stall_seconds, target=target)
        queue = BatchQueue(BatchClient(client, poll_seconds=poll_seconds), progress.event)
        jobs = [Job(it.key, it.change, workspaces / it.key,
                    local_repository(repo, it.change.meta.head_sha, it.change.meta.base_sha)
                    if config.repository else None, known_secrets(it.change)) for it in items]
        names = {it.key: it.spec for it in items}
        results = await run_batch_reviews(jobs, config, queue, lambda _: transport,
                                          lambda key, m: progress.event(f"{names[key]}: {m}"), ttl=ttl)
        progress.event(f"{len(queue.batches)} batch(es): " + ", ".join(f"{info.batch_id} ({n} item(s))"
                                                                         for info, n in queue.batches))
        return results


def run(args: argparse.Namespace) -> Outcome | int:
    level = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    progress = ProgressPrinter(sys.stderr, level)
    if args.poll_seconds <= 0:
        raise ConfigError(f"--poll-seconds must be positive, got {args.poll_seconds}")
    repo = args.repo.resolve()
    if not repo.is_dir():
        raise InputError(f"--repo {args.repo}: no such directory")
    config = load_config(repo, args.config)
    config = with_overrides(config, model=args.model, **providers.overrides(args))
    target = providers.resolve(config, os.environ)
    config = providers.apply(config, target)
    check_batch_target(target)
    if not os.environ.get("ANTHROPIC_API_KEY", "").strip():
        raise ConfigError("ANTHROPIC_API_KEY is not set")
    items = read_ranges(repo, list(args.ranges))
    empty = [it.spec for it in items if not it.change.files]
    if empty:
        progress.event(f"nothing to review in {', '.join(empty)}: skipped")
    todo = [it for it in items if it.change.files]
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output directory {args.out}: {e.strerror or e}") from None
    with tempfile.TemporaryDirectory(prefix="reviewbot-bulk-") as tmp:
        results = asyncio.run(_review_all(todo, config, repo, target, progress, args.poll_seconds, Path(tmp),
                                          args.batch_ttl))
    calls: list[CallRecord] = []
    for it, result in zip(todo, results, strict=True):
        path = args.out / f"{file_stem(it)}.{EXTENSIONS[args.format]}"
        try:
            path.write_text(render(result, args.format))
        except OSError as e:
            raise InputError(f"cannot write {path}: {e.strerror or e}") from None
        print(summary_line(it, result, path))
        calls += result.calls
    if level > QUIET:
        print(f"reviewbot: {run_usage(calls)}", file=sys.stderr)
    return exit_code(results, args.fail_on)
