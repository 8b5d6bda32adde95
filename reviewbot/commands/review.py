"""`reviewbot review`: review a local branch, a git range or a patch file and print the result.

This module is the command's flags and help, light to import (`reviewbot review --help` loads no SDK);
the run itself is reviewbot.commands.review_run, imported by `run`. Results go to stdout (markdown,
rich-rendered on a terminal; json; sarif); progress, the usage line and errors go to stderr.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reviewbot.commands.options import add_common
from reviewbot.domain.enums import SEVERITIES, WARMUP_STRATEGIES
from reviewbot.errors import (
    EXIT_API,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Outcome,
    exit_code_help,
)
from reviewbot.llm import providers
from reviewbot.output.formats import FORMAT_NAMES

FORMAT_HELP = ("output on stdout: markdown (rendered with rich on a terminal, plain when piped), "
               "json (schema: reviewbot/output/review.schema.json), sarif (SARIF 2.1.0, for GitHub code "
               "scanning); default: markdown")

# What each exit code means for this command (errors.EXIT_CODES has the codes; README, "Exit codes").
EXIT_MEANINGS = {
    EXIT_OK: "review done, or nothing to review",
    EXIT_FINDINGS: "--fail-on threshold reached (wins over 5)",
    EXIT_USAGE: "usage or configuration error (bad flag or config key, ANTHROPIC_API_KEY missing)",
    EXIT_INPUT: "the change cannot be read (not a git repository, unknown ref, workspace not empty)",
    EXIT_API: "the API failed after retries or refused the key; replaying, a request not in the cassette",
    EXIT_PARTIAL: "partial review: a reviewer or the summary failed, or the deadline or budget stopped it "
                  "(the rest is printed, labelled partial)",
}

EPILOG = """
environment:
  ANTHROPIC_API_KEY   required with --provider anthropic (the default), except with --replay-cassette
  ANTHROPIC_BASE_URL  another endpoint (a proxy, or cachesim in development)
  cloud providers     their own credential chain (AWS, Google ADC, Azure): README, "Providers"

examples:
  reviewbot review --base main --dry-run            what it would send and cost
  reviewbot review --format sarif > review.sarif    for GitHub code scanning
  reviewbot review --record-cassette t/rb.yaml      then, offline: --replay-cassette t/rb.yaml"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "review", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review the change between --base and --head of a local git repository.\n"
                    "The review goes to stdout; progress, the usage line and errors go to stderr.",
        epilog=exit_code_help(EXIT_MEANINGS) + "\n" + EPILOG)
    r.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                   help="the git repository (default: current directory)")
    r.add_argument("--base", metavar="REF",
                   help="base ref (default: the default branch; the merge-base with head is used)")
    r.add_argument("--head", metavar="REF", help="head ref (default: HEAD)")
    r.add_argument("--format", choices=sorted(FORMAT_NAMES), default="markdown", help=FORMAT_HELP)
    r.add_argument("--diff", metavar="FILE",
                   help="review the unified diff in FILE ('-' for standard input) instead of a git range: "
                        "git, hg, svn, bzr or format-patch output; config from --config or the working tree")
    kept = add_common(r)
    kept.add_argument("--resume", type=Path, metavar="DIR",
                      help="continue a run kept with --keep-workspace DIR that broke off: same change and config; "
                           "reviewers that finished are reused, not paid again")
    r.add_argument("--model", metavar="ID",
                   help="model id from reviewbot's model table (default: from config, else claude-sonnet-5-5)")
    r.add_argument("--config", type=Path, metavar="FILE",
                   help="config file (default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml, as they are "
                        "in the BASE commit: the change under review cannot rewrite its own config)")
    r.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="how the shared prefix is cached before the fan-out")
    r.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding of this severity or worse is reported "
                        f"({', '.join(SEVERITIES)})")
    cassette = r.add_mutually_exclusive_group()
    cassette.add_argument("--record-cassette", type=Path, metavar="FILE",
                          help="record every API call of this run to FILE (YAML, overwritten; keys filtered out; "
                               "needs reviewbot[cassettes])")
    cassette.add_argument("--replay-cassette", type=Path, metavar="FILE",
                          help="answer every API call from FILE, offline; a request that differs from the recording "
                               f"(prompt, config, model, change) fails with exit {EXIT_API}; no API key needed")
    r.add_argument("--batch", action="store_true",
                   help="send the model calls through the Message Batches API: every token at half the price, "
                        "the review in minutes to hours (one batch per tool round, then the summary); with "
                        "--keep-workspace DIR the batches are journalled in DIR, and --resume DIR follows them "
                        "instead of paying again")
    providers.add_arguments(r)
    r.set_defaults(run=run)


def run(args: argparse.Namespace, **passed: Any) -> Outcome:
    """`passed`: a test's `connect=` (the model transport the run opens)."""
    from reviewbot.commands.review_run import review

    return review(args, **passed)
