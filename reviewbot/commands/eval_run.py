"""The run of `reviewbot eval` (its flags: reviewbot.commands.eval): measure review quality on a
golden set (README, "Measuring quality").

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
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from reviewbot.config import Config, check_models, load_config
from reviewbot.domain.change import Change
from reviewbot.domain.events import EvalCellScored, EvalStarted, ignore
from reviewbot.errors import EXIT_OK, EXIT_PARTIAL, ConfigError, MissingCredentials, Outcome
from reviewbot.eval import report
from reviewbot.eval.golden import Golden, load_golden
from reviewbot.eval.matrix import Cell, expand
from reviewbot.eval.run import CellResult, Evaluation
from reviewbot.eval.source import read_github, read_local
from reviewbot.eval.store import Store
from reviewbot.github.api import GitHubSettings
from reviewbot.llm.models import model_info
from reviewbot.llm.transport import Connection, Start, Transport, connect_anthropic
from reviewbot.output.terminal import VERBOSE, ProgressPrinter, progress_level
from reviewbot.pipeline.metered import Metered


class _NoKey:
    """The transport when ANTHROPIC_API_KEY is missing: fine while everything is reused from --out."""

    async def send(self, request: dict[str, Any], on_first_byte: Callable[[Start], None] | None = None) -> NoReturn:
        raise MissingCredentials("ANTHROPIC_API_KEY is not set (needed for the reviews and judgments not yet saved in "
                                 "the --out directory)")

    async def count_tokens(self, request: dict[str, Any]) -> int:
        await self.send(request)


def _reader(args: argparse.Namespace) -> Callable[[Golden], Change]:
    """How a golden PR is read: from its local repository or bundle, else through the GitHub API."""
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    settings = GitHubSettings(
        api_url=(args.api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        token=token, seconds_between_requests=args.github_throttle, seconds_between_writes=args.github_throttle)

    def read(golden: Golden) -> Change:
        if golden.is_local:
            return read_local(golden)
        if not token:
            raise MissingCredentials(f"GITHUB_TOKEN is not set (needed to read {golden.id}; a read-only token "
                                     "is enough)")
        return read_github(golden, settings)
    return read


def _goldens(args: argparse.Namespace) -> tuple[Golden, ...]:
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


async def _evaluate(make: Callable[[Transport], Evaluation], goldens: tuple[Golden, ...], cells: tuple[Cell, ...],
                    config: Config, api_key: str, progress: ProgressPrinter) -> list[CellResult]:
    """The run, with the client it needs (none while everything is reused from --out)."""
    if not api_key:
        return await make(_NoKey()).run(goldens, cells, config)
    async with connect_anthropic(Connection(api_key, config.max_retries, config.timeout_seconds)) as transport:
        return await make(Metered(transport, progress)).run(goldens, cells, config)


def evaluate(args: argparse.Namespace) -> Outcome:
    progress = ProgressPrinter(sys.stderr, progress_level(args.quiet, args.verbose))
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

    def make(transport: Transport) -> Evaluation:
        return Evaluation(transport, args.judge_model, store, _reader(args), on_event=progress,
            on_review_event=progress if progress.level >= VERBOSE else ignore,     # -v: each review's events
            partial_credit=partial_credit, jobs=args.jobs)

    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    progress(EvalStarted(len(goldens), len(cells), args.judge_model, str(args.out)))
    results = asyncio.run(_evaluate(make, goldens, cells, config, api_key, progress))
    doc = report.to_json(results, str(args.golden), args.judge_model, partial_credit)
    md = report.to_markdown(results, str(args.golden), args.judge_model, partial_credit)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(md, encoding="utf-8")
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else md)
    for done in results:
        t = done.totals.counts
        progress(EvalCellScored(done.cell.label, t.precision, t.recall, t.f1, done.review_cost, done.judge_cost))
    incomplete = any(p.error or not p.complete for c in results for p in c.prs)
    return Outcome(EXIT_PARTIAL if incomplete else EXIT_OK)
