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
With `--github OWNER/NAME` the arguments are pull request numbers of that repository instead: each
is read through the GitHub API as `reviewbot github` reads it, all are reviewed in one batch run,
and each review is posted as `reviewbot github` posts it (or, with --no-post, only written to --out).
This module is the command's flags and help, light to import; the run is reviewbot.commands.bulk_run.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reviewbot.commands.github import throttle
from reviewbot.commands.options import add_noise
from reviewbot.domain.enums import DEFAULT_BATCH_TTL, SEVERITIES, TTLS
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
    EXIT_OK: "every range reviewed, or nothing to review; with --github every PR posted (or written, "
             "--no-post) or with nothing to do",
    EXIT_FINDINGS: "--fail-on threshold reached in some review (wins over 5)",
    EXIT_USAGE: "usage or configuration error (bad flag, range or PR number, ANTHROPIC_API_KEY or GITHUB_TOKEN "
                "missing); with --github, a PR whose base branch has a bad config (the others go on)",
    EXIT_INPUT: "a range cannot be read (nothing was sent), a review cannot be written, or the --state-dir journal "
                "cannot be opened or is another run's (no model call)",
    EXIT_API: "the batch failed: the API refused the key, or failed after retries; with --github, a PR GitHub "
              "would not give or take (not found, no access, a failed post: the others go on; wins over 1 and 5)",
    EXIT_PARTIAL: "some review is partial (a batch item errored, expired or was canceled, or a reviewer "
                  "failed); every review is written (and posted, with --github)",
}

EPILOG = """
examples:
  reviewbot bulk main..feature-a main..feature-b --out reviews/
  reviewbot bulk $(git rev-list --since=yesterday main) --format json --out nightly/
  reviewbot bulk --github OWNER/NAME 12 15 31               # three PRs: one batch run, three reviews posted
  reviewbot bulk --github OWNER/NAME 12 15 31 --no-post     # reviewed and written to --out; nothing posted
  reviewbot bulk --state-dir .reviewbot-bulk $(git rev-list --since=yesterday main)   # re-run it after a kill"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "bulk", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review every RANGE (BASE..HEAD, or one commit REV) of --repo together in batch mode:\n"
                    "all specialists in one Message Batch, then their tool rounds, then the summaries.\n"
                    "Each review goes to --out; stdout gets one line per review. With --github OWNER/NAME the\n"
                    "arguments are pull request numbers: each is read and its review posted as `reviewbot github`\n"
                    "does (--no-post: written to --out only).",
        epilog=exit_code_help(EXIT_MEANINGS) + "\n" + EPILOG)
    b.add_argument("ranges", nargs="+", metavar="RANGE",
                   help="BASE..HEAD, or a commit REV (its own change); with --github, a pull request number N")
    b.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                   help="the git repository (default: current directory)")
    b.add_argument("--out", type=Path, default=Path("reviewbot-bulk"), metavar="DIR",
                   help="where each review is written (default: ./reviewbot-bulk)")
    b.add_argument("--format", choices=sorted(FORMAT_NAMES), default="markdown",
                   help="format of each review file (default: markdown)")
    b.add_argument("--config", type=Path, metavar="FILE",
                   help="config file (default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml, of the "
                        "working tree); with --github, a path in the repository, read at each PR's base")
    b.add_argument("--model", metavar="ID", help="model id from reviewbot's model table")
    b.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when some review reports a finding of this severity or worse")
    b.add_argument("--poll-seconds", type=float, default=1.0, metavar="S",
                   help="first wait before polling a batch; each wait is 1.5x the last, at most 60s (default: 1)")
    b.add_argument("--batch-ttl", choices=TTLS, default=DEFAULT_BATCH_TTL,
                   help="TTL of the cache breakpoints of the batch items (the tools and base prompt, each review's "
                        "pre-read files). Default 5m: it writes at 1.25x instead of 2x, a review's items are adjacent "
                        "in a batch, and keep-warm refreshes it while a batch runs, so it is the cheaper choice "
                        "while a review's rounds come within about 30 minutes; 1h for slower batches")
    b.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="journal the batches in DIR (created if missing): run again with the same RANGEs (or PRs), "
                        "in the same order, and DIR after a killed or failed run, and the batches that run sent "
                        "are followed, not paid for again")
    gh = b.add_argument_group("pull requests (--github)")
    gh.add_argument("--github", metavar="OWNER/NAME",
                    help="review these pull requests of the GitHub repository (GITHUB_TOKEN) and post each review "
                         "as `reviewbot github` does; --config is then a path in the repository, read at each PR's "
                         "base")
    gh.add_argument("--no-post", action="store_true",
                    help="with --github: review (paid) and write each review to --out; post nothing")
    gh.add_argument("--review-drafts", action="store_true", help="with --github: review draft pull requests too")
    gh.add_argument("--api-url", help="with --github: GitHub API URL (default: $GITHUB_API_URL, else "
                                      "https://api.github.com)")
    gh.add_argument("--github-throttle", type=throttle, default=(0.25, 1.0), metavar="SECONDS[,WRITE_SECONDS]",
                    help="with --github: pause between GitHub requests and between writes (default: 0.25,1)")
    providers.add_arguments(b)
    add_noise(b)
    b.set_defaults(run=run)


def run(args: argparse.Namespace, **passed: Any) -> Outcome:
    """`passed`: a test's `connect=` / `connect_batches=` (the transports the run opens)."""
    from reviewbot.commands.bulk_run import bulk

    return bulk(args, **passed)
