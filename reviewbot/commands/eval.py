"""`reviewbot eval`: measure review quality on a golden set (README, "Measuring quality").

Reads the golden set (the Martian Code Review Bench format) and the configuration once, makes the
Anthropic client and the GitHub reader and passes them to reviewbot.eval.run. The results go to
stdout (markdown or json) and, with every finished review and judgment, to --out DIR, so a rerun
resumes; progress and errors go to stderr. ANTHROPIC_API_KEY is needed only when something is
left to review or judge, GITHUB_TOKEN (read-only is enough) only when a PR must be read from
GitHub.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from reviewbot.config import Config, check_models, load_config
from reviewbot.errors import EXIT_OK, EXIT_PARTIAL, ConfigError
from reviewbot.eval import report
from reviewbot.eval.golden import Golden, load_golden
from reviewbot.eval.judge import DEFAULT_JUDGE_MODEL
from reviewbot.eval.matrix import EFFORTS, expand
from reviewbot.eval.run import Evaluation
from reviewbot.eval.source import read_github, read_local
from reviewbot.eval.store import Store
from reviewbot.github.api import GitHubSettings
from reviewbot.llm.models import model_info
from reviewbot.llm.transport import Connection, connect_anthropic
from reviewbot.output.terminal import NORMAL, QUIET, VERBOSE, ProgressPrinter


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "eval", help="measure review quality on a golden set (precision, recall, F1)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review every PR of a golden set (Martian Code Review Bench format), judge the findings "
                    "against the golden comments with an LLM judge, and report precision, recall and F1 per PR, "
                    "per severity and per specialist, with the dollars spent reviewing and judging.",
        epilog=f"""matrix: --model, --specialists and --effort may each be given several times; every
combination is a cell, evaluated on the whole golden set (--specialists each: one cell per specialist).

exit codes:
  0  every PR reviewed, judged and scored
  2  usage or configuration error (bad golden set, flag or config; a key or token needed and missing)
  4  the Anthropic or GitHub API refused the credentials
  {EXIT_PARTIAL}  some PRs could not be reviewed or judged, or a review was partial (the rest is reported)

environment:
  ANTHROPIC_API_KEY   to review and judge what is not saved in --out yet
  ANTHROPIC_BASE_URL  another endpoint (a proxy, or cachesim in development)
  GITHUB_TOKEN        to read PRs given by URL (read-only is enough); GITHUB_API_URL: GitHub Enterprise, ghsim

examples:
  reviewbot eval code-review-benchmark/offline/golden_comments/ --out eval-out
  reviewbot eval golden.json --specialists each --specialists all --format json""")
    e.add_argument("golden", type=Path, metavar="GOLDEN",
                   help="a golden-set JSON file, or a directory of them (the benchmark's golden_comments/)")
    e.add_argument("--out", type=Path, default=Path("eval-out"), metavar="DIR",
                   help="where finished reviews and judgments are kept (a rerun reuses them) and results.json / "
                        "results.md are written (default: ./eval-out)")
    e.add_argument("--format", choices=("markdown", "json"), default="markdown", help="stdout format")
    e.add_argument("--pr", action="append", metavar="URL", help="only this PR of the golden set (repeatable)")
    e.add_argument("--model", action="append", metavar="ID",
                   help="the reviewers' model (default: the config's); repeat for a matrix")
    e.add_argument("--specialists", action="append", metavar="LIST",
                   help="comma-separated specialists, 'all' or 'each' (default: the config's); repeat for a matrix")
    e.add_argument("--effort", action="append", choices=EFFORTS, metavar="LEVEL",
                   help=f"the reviewers' effort ({', '.join(EFFORTS)}; default: the model's); repeat for a matrix")
    e.add_argument("--config", type=Path, metavar="FILE",
                   help="reviewbot config for the reviews (default: reviewbot's defaults; a PR's own "
                        ".reviewbot.toml is never read)")
    e.add_argument("--judge-model", default=DEFAULT_JUDGE_MODEL, metavar="ID",
                   help=f"the judge's model (default: {DEFAULT_JUDGE_MODEL})")
    e.add_argument("--no-partial-credit", action="store_true",
                   help="count only full matches (the benchmark counts a partial match as found)")
    e.add_argument("--jobs", type=int, default=1, metavar="N", help="PRs reviewed at once (default: 1)")
    e.add_argument("--api-url", metavar="URL",
                   help="GitHub API (default: $GITHUB_API_URL, else https://api.github.com)")
    e.add_argument("--github-throttle", type=float, default=0.25, metavar="SECONDS",
                   help="pause between GitHub requests (default: 0.25, PyGithub's)")
    noise = e.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="nothing on stderr but errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="also each review's events and each API call")
    e.set_defaults(run=run)


class _NoKey:
    """The transport when ANTHROPIC_API_KEY is missing: fine while everything is reused from --out."""

    async def send(self, request: dict, on_first_byte=None):
        raise ConfigError("ANTHROPIC_API_KEY is not set (needed for the reviews and judgments not yet saved in "
                          "the --out directory)")

    async def count_tokens(self, request: dict) -> int:
        return await self.send(request)


class _Metered:
    """Each finished call is reported to the progress printer (-v shows it)."""

    def __init__(self, inner, progress: ProgressPrinter):
        self.inner, self.progress = inner, progress

    async def send(self, request: dict, on_first_byte=None):
        reply = await self.inner.send(request, on_first_byte)
        self.progress.call(reply.model, reply.usage)
        return reply


def _reader(args):
    """How a golden PR is read: from its local repository or bundle, else through the GitHub API."""
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    settings = GitHubSettings(
        api_url=(args.api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        token=token, seconds_between_requests=args.github_throttle, seconds_between_writes=args.github_throttle)

    def read(golden: Golden):
        if golden.is_local:
            return read_local(golden)
        if not token:
            raise ConfigError(f"GITHUB_TOKEN is not set (needed to read {golden.id}; a read-only token is enough)")
        return read_github(golden, settings)
    return read


def _goldens(args) -> tuple[Golden, ...]:
    goldens = load_golden(args.golden)
    if args.pr:
        wanted = [u.strip() for u in args.pr]
        unknown = [u for u in wanted if u not in {g.id for g in goldens}]
        if unknown:
            raise ConfigError(f"--pr {unknown[0]}: not in the golden set {args.golden}")
        goldens = tuple(g for g in goldens if g.id in wanted)
    for g in goldens:
        if g.local is not None and not g.local.exists():
            raise ConfigError(f"golden set {args.golden}: {g.id}: {g.local} not found")
    return goldens


async def _evaluate(make, goldens, cells, config: Config, api_key: str, progress: ProgressPrinter):
    """The run, with the client it needs (none while everything is reused from --out)."""
    if not api_key:
        return await make(_NoKey()).run(goldens, cells, config)
    async with connect_anthropic(Connection(api_key, config.max_retries, config.timeout_seconds)) as transport:
        return await make(_Metered(transport, progress)).run(goldens, cells, config)


def run(args) -> int:
    level = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    progress = ProgressPrinter(sys.stderr, level)
    if args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    goldens = _goldens(args)
    config = load_config(Path("."), args.config) if args.config else Config()
    cells = expand(args.model, args.specialists, args.effort)
    # Every model and effort named is checked against the model table before any call: an unknown
    # judge model must not surface as a 404 after the reviews were paid for.
    model_info(args.judge_model)
    for cell in cells:
        check_models(cell.config(config))
    partial_credit = not args.no_partial_credit
    store = Store(args.out)
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is not a directory")

    def make(transport) -> Evaluation:
        return Evaluation(transport, args.judge_model, store, _reader(args), on_event=lambda m: progress.event(
            f"eval: {m}"), on_review_event=progress.event if level >= VERBOSE else (lambda m: None),
            partial_credit=partial_credit, jobs=args.jobs)

    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    progress.event(f"eval: {len(goldens)} PR(s) x {len(cells)} cell(s), judge {args.judge_model}, "
                   f"results in {args.out}")
    results = asyncio.run(_evaluate(make, goldens, cells, config, api_key, progress))
    doc = report.to_json(results, str(args.golden), args.judge_model, partial_credit)
    md = report.to_markdown(results, str(args.golden), args.judge_model, partial_credit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(md, encoding="utf-8")
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else md)
    for cell in results:
        t = cell.totals.counts
        progress.event(f"eval: {cell.cell.label}: precision {report._pct(t.precision)}, recall "
                       f"{report._pct(t.recall)}, F1 {report._pct(t.f1)}; reviewing ${cell.review_cost:.4f}, "
                       f"judging ${cell.judge_cost:.4f}")
    incomplete = any(p.error or not p.complete for c in results for p in c.prs)
    return EXIT_PARTIAL if incomplete else EXIT_OK
