"""`reviewbot bench`: review PRs and report cost, caching and latency: corpus PRs against cachesim
(`--corpus DIR --cachesim PATH/server.py`), or a user's own ranges against the real API (`--repo DIR
RANGE...`, with ANTHROPIC_API_KEY).

Also `python -m reviewbot.bench`. The table goes to stdout, progress to stderr; bench.json,
bench.md and bench.png go to --out. Targets are reported PASS/FAIL per row and do not change the
exit code: 0 when every PR was reviewed, the usual error codes otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from reviewbot.domain.enums import DEFAULT_BATCH_TTL, ROUTINGS, TTLS, WARMUP_STRATEGIES
from reviewbot.errors import (
    EXIT_API,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    MissingCredentials,
    Outcome,
    exit_code_help,
)

if TYPE_CHECKING:
    from reviewbot.bench.runner import BenchOptions


# What each exit code means for this command (errors.EXIT_CODES has the codes; README, "Benchmark").
EXIT_MEANINGS = {
    EXIT_OK: "every PR or range was reviewed (a missed target is reported in the table, not in the exit code)",
    EXIT_USAGE: "bad flag, no --corpus/--cachesim nor --repo, cachesim not found, or ANTHROPIC_API_KEY missing",
    EXIT_INPUT: "the corpus, a range or the output directory cannot be read or written",
    EXIT_API: "cachesim or the API unreachable, or a review failed (the message names the PR)",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "bench", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=exit_code_help(EXIT_MEANINGS),
        description=textwrap.fill("With --corpus DIR --cachesim PATH/server.py: review every corpus entry "
                                  "(NAME.bundle with branches base and pr) against cachesim at a realistic speed and "
                                  "print, per PR: dollars (input and output apart), thinking, the same reviews at "
                                  "uniform default effort and in batch mode, cost against the ideal-caching oracle, "
                                  "races, wall time against the critical path, the summary's share of it and the "
                                  "prefix's avoidable tokens, with the targets met or missed. With --repo DIR "
                                  "RANGE...: your own ranges against the real API (ANTHROPIC_API_KEY; no oracle "
                                  "there).", 100))
    b.add_argument("entries", nargs="*", metavar="ENTRY|RANGE",
                   help="corpus entries to run (default: all), or with --repo the ranges (BASE..HEAD or REV)")
    b.add_argument("--corpus", type=Path, metavar="DIR", help="corpus directory of NAME.bundle (+ NAME.json)")
    b.add_argument("--cachesim", type=Path, metavar="FILE",
                   help="cachesim's server.py, started on a free port; its analyze.py computes the numbers")
    b.add_argument("--repo", type=Path, metavar="DIR",
                   help="review ranges of this repository against the real API instead (ANTHROPIC_API_KEY; "
                        "ANTHROPIC_BASE_URL is honoured)")
    b.add_argument("--batch", action="store_true", help="with --repo: also review the ranges in batch mode")
    b.add_argument("--no-batch", action="store_true", help="skip the batch-mode pass (cachesim)")
    b.add_argument("--uniform", action="store_true",
                   help="with --repo: also review the ranges at uniform default effort (the effort ratio)")
    b.add_argument("--no-uniform", action="store_true",
                   help="skip the pass at uniform default effort (cachesim; the effort ratio is then n/a)")
    b.add_argument("--batch-ttl", choices=TTLS, default=DEFAULT_BATCH_TTL,
                   help="TTL of the cache breakpoints in the batch pass (default: 5m)")
    b.add_argument("--api-url", help="use a cachesim already running at this URL instead of starting one")
    b.add_argument("--time-scale", type=float,
                   help="multiplier of the interactive pass's latency (default 1.0: the real API's speed, about "
                        "60 output tokens/s; 0.1 runs ten times faster)")
    b.add_argument("--reset-between", action="store_true",
                   help="reset cachesim before each review (default: one cache for the whole run)")
    naive = b.add_mutually_exclusive_group()
    naive.add_argument("--naive", action="store_true",
                       help="also review every PR in the bot's naive mode (no caching; the 'vs naive bot' column)")
    naive.add_argument("--no-naive", action="store_true", help="no naive-mode pass (the default)")
    b.add_argument("--model", help="model id (default: the configuration's, claude-sonnet-5-5 unless set)")
    b.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="warm-up strategy (default: the configuration's)")
    b.add_argument("--routing", choices=ROUTINGS, help="which specialists run (default: the configuration's)")
    b.add_argument("--base-ttl", choices=TTLS,
                   help="TTL of the tools + system and pre-read-calls breakpoints (default: the configuration's)")
    b.add_argument("--related-code-tokens", type=int, metavar="N",
                   help="ceiling of the related-code section (default: the configuration's; 0: off)")
    b.add_argument("--no-repository", action="store_true",
                   help="reviewers see the patches alone: no repository reads, searches or related code")
    b.add_argument("--no-effort-policy", action="store_true",
                   help="every agent at the model's default effort (default: the configuration's effort policy)")
    b.add_argument("--out", type=Path, default=Path("bench-out"),
                   help="where bench.json, bench.md and bench.png go (default: ./bench-out)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    b.add_argument("-v", "--verbose", action="store_true", help="every review's events on stderr")
    b.set_defaults(run=run)


def options(args: argparse.Namespace) -> BenchOptions:
    from reviewbot.bench.runner import BenchOptions
    from reviewbot.config import Config, with_overrides

    if args.repo is not None and (args.corpus or args.cachesim or args.api_url or args.time_scale is not None):
        raise ConfigError("--repo runs against the real API: it does not take --corpus, --cachesim, --api-url or "
                          "--time-scale")
    if args.time_scale is not None and args.api_url:
        raise ConfigError("--time-scale applies to the cachesim the bench starts, not to --api-url")
    if args.time_scale is not None and args.time_scale <= 0:
        raise ConfigError(f"--time-scale must be positive, got {args.time_scale}")
    if args.model is not None and not args.model.strip():
        raise ConfigError("--model must be a non-empty model id")
    if args.related_code_tokens is not None and args.related_code_tokens < 0:
        raise ConfigError(f"--related-code-tokens must be 0 or more, got {args.related_code_tokens}")
    config = with_overrides(Config(), model=args.model, warmup=args.warmup, base_ttl=args.base_ttl,
                            routing=args.routing, related_code_tokens=args.related_code_tokens,
                            repository=False if args.no_repository else None,
                            effort_policy=False if args.no_effort_policy else None)
    api_key = None
    if args.repo is not None:
        if not args.entries:
            raise ConfigError("--repo: give the ranges to review (BASE..HEAD or REV)")
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            raise MissingCredentials("ANTHROPIC_API_KEY is not set (the --repo bench runs against the real API)")
    elif args.corpus is None or args.cachesim is None:
        raise ConfigError("give --corpus DIR and --cachesim PATH/server.py (the simulator bench), or --repo DIR "
                          "RANGE... (your own ranges against the API)")
    return BenchOptions(corpus=args.corpus, config=config, out=args.out,
                        entries=tuple(args.entries), cachesim=args.cachesim,
                        api_url=args.api_url, time_scale=args.time_scale, reset_between=args.reset_between,
                        naive=args.naive and args.repo is None, verbose=args.verbose and not args.quiet,
                        batch=args.batch if args.repo is not None else not args.no_batch, repo=args.repo,
                        api_key=api_key, batch_ttl=args.batch_ttl,
                        uniform=args.uniform if args.repo is not None else not args.no_uniform)


def run(args: argparse.Namespace) -> Outcome:
    from reviewbot.bench.runner import run_bench, write_outputs

    opts = options(args)

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"reviewbot bench: {msg}", file=sys.stderr)

    rows = run_bench(opts, log)
    sys.stdout.write(write_outputs(rows, opts))
    log(f"wrote {opts.out / 'bench.json'}, bench.md, bench.png")
    return Outcome(EXIT_OK)
