"""`reviewbot bulk`: review many ranges of one repository at once, through the Message Batches API.

For reviews nobody waits for (a backlog, the nightly review of merged commits, auditing a branch):
every range is read and planned first, then all of them are reviewed together in batch mode
(reviewbot.pipeline.batch): the specialists of every review go in one Message Batch, their further
tool rounds in the next ones, the summaries after; every token at half the price. Each review is
written to --out as `NNN-<range>.<ext>` in --format (markdown, json or sarif, the outputs of
`reviewbot review`); stdout gets one line per review (verdict, findings, cost, partial or not), stderr
the progress and the usage line of the whole run.

A RANGE is `BASE..HEAD` (the change HEAD brings into BASE, from their merge-base, as `reviewbot
review --base BASE --head HEAD`), or a single commit `REV` (the change of that commit: `REV^..REV`).
This module is the command's flags and help, light to import; the run is reviewbot.commands.bulk_run.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reviewbot.commands.options import QUIET_HELP, VERBOSE_HELP
from reviewbot.domain.enums import SEVERITIES
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

# What each exit code means for this command (errors.EXIT_CODES has the codes; README, "Exit codes").
EXIT_MEANINGS = {
    EXIT_OK: "every range reviewed, or nothing to review",
    EXIT_FINDINGS: "--fail-on threshold reached in some review (wins over 5)",
    EXIT_USAGE: "usage or configuration error (bad flag or range, ANTHROPIC_API_KEY missing)",
    EXIT_INPUT: "a range cannot be read (nothing was sent), or a review cannot be written",
    EXIT_API: "the batch failed: the API refused the key, or failed after retries",
    EXIT_PARTIAL: "some review is partial (a batch item errored, expired or was canceled, or a reviewer "
                  "failed); every review is written",
}

EPILOG = """
examples:
  reviewbot bulk main..feature-a main..feature-b --out reviews/
  reviewbot bulk $(git rev-list --since=yesterday main) --format json --out nightly/"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "bulk", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review every RANGE (BASE..HEAD, or one commit REV) of --repo together in batch mode:\n"
                    "all specialists in one Message Batch, then their tool rounds, then the summaries.\n"
                    "Each review goes to --out; stdout gets one line per review.",
        epilog=exit_code_help(EXIT_MEANINGS) + "\n" + EPILOG)
    b.add_argument("ranges", nargs="+", metavar="RANGE", help="BASE..HEAD, or a commit REV (its own change)")
    b.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                   help="the git repository (default: current directory)")
    b.add_argument("--out", type=Path, default=Path("reviewbot-bulk"), metavar="DIR",
                   help="where each review is written (default: ./reviewbot-bulk)")
    b.add_argument("--format", choices=sorted(FORMAT_NAMES), default="markdown",
                   help="format of each review file (default: markdown)")
    b.add_argument("--config", type=Path, metavar="FILE",
                   help="config file (default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml, of the "
                        "working tree)")
    b.add_argument("--model", metavar="ID", help="model id from reviewbot's model table")
    b.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when some review reports a finding of this severity or worse")
    b.add_argument("--poll-seconds", type=float, default=1.0, metavar="S",
                   help="first wait before polling a batch; each wait is 1.5x the last, at most 60s (default: 1)")
    b.add_argument("--batch-ttl", choices=("5m", "1h"), default="5m",
                   help="TTL of each review's own cached part (its pre-read files; the tools and base prompt are "
                        "always at 1h). Default 5m: it writes at 1.25x instead of 2x, a review's items are adjacent "
                        "in a batch, and keep-warm refreshes it while a batch runs, so it is the cheaper choice "
                        "while a review's rounds come within about 30 minutes; 1h for slower batches")
    providers.add_arguments(b)
    noise = b.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    noise.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    b.set_defaults(run=run)


def run(args: argparse.Namespace, **passed: Any) -> Outcome:
    """`passed`: a test's `connect=` / `connect_batches=` (the transports the run opens)."""
    from reviewbot.commands.bulk_run import bulk

    return bulk(args, **passed)
