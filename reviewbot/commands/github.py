"""`reviewbot github`: review a GitHub pull request and post one review (the GitHub Action's command).

Flags -> reviewbot.github.run (the owner of a GitHub run: event, skip decisions, source, review,
plan, post, reconcile, cleanup, summary edit, Actions outputs) -> one `errors.Outcome`. The run is
imported inside `run`, so `reviewbot --help` does not import PyGithub or the Anthropic SDK.

`--dry-run` sends no model call (the token counts and the estimated cost, as `reviewbot review
--dry-run`); `--no-post` runs the paid review and posts nothing. The token is read from the
environment only (GITHUB_TOKEN: never a flag, never printed).
"""
from __future__ import annotations

import argparse
import os
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

# What each exit code means for this command (errors.EXIT_CODES has the codes; README, "Exit codes of
# `reviewbot github`").
EXIT_MEANINGS = {
    EXIT_OK: "review posted, or nothing to do (already reviewed, draft, closed, no review asked; a fork or "
             "Dependabot PR without a key or with a read-only token); a --dry-run or --no-post run that finished",
    EXIT_FINDINGS: "--fail-on reached: a finding of that severity or worse is open on the PR",
    EXIT_USAGE: "configuration: key or token missing on the repository's own PR, bad flag or config",
    EXIT_INPUT: "the event cannot be read (no file, not JSON, no pull_request in it)",
    EXIT_API: "GitHub or Anthropic failed after retries or refused the credentials; the token is read-only on "
              "the repository's own PR",
    EXIT_PARTIAL: "partial review: a reviewer or the summary failed; what was found is posted",
}


def throttle(text: str) -> tuple[float, float]:
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SECONDS or READ,WRITE seconds, got {text!r}") from None
    if len(values) not in (1, 2) or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected SECONDS or READ,WRITE seconds, got {text!r}")
    return (values[0], values[-1])


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    g = sub.add_parser(
        "github", help="review a GitHub pull request and post one review (for GitHub Actions)",
        description="Review the pull request of a GitHub Actions pull_request event (or --repo/--pr) and post "
                    "one review with inline comments. The token comes from GITHUB_TOKEN, the Anthropic key from "
                    "ANTHROPIC_API_KEY.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=exit_code_help(EXIT_MEANINGS))
    g.add_argument("--event", metavar="FILE", help="the event payload (default: $GITHUB_EVENT_PATH)")
    g.add_argument("--repo", metavar="OWNER/NAME", help="with --pr: review that PR as it is now, without an event "
                   "(default: $GITHUB_REPOSITORY)")
    g.add_argument("--pr", type=int, metavar="N", help="the pull request number to review instead of the event's")
    g.add_argument("--api-url", help="GitHub API URL (default: $GITHUB_API_URL, else https://api.github.com)")
    g.add_argument("--model", help="model id (default: from config, else claude-sonnet-5-5)")
    g.add_argument("--config", metavar="PATH", help="config file in the repository, read from the base branch "
                   "(default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml)")
    g.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="how the shared prefix is cached before the fan-out")
    g.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding of this severity or worse is open on the PR "
                        f"({', '.join(SEVERITIES)})")
    g.add_argument("--review-drafts", action="store_true", help="review draft pull requests too (default: skip)")
    mode = g.add_mutually_exclusive_group()
    add_common(g, dry_run_in=mode)
    mode.add_argument("--no-post", action="store_true",
                      help="run the review (paid) and print it with what would be posted; post nothing")
    g.add_argument("--format", choices=sorted(FORMAT_NAMES), default="markdown",
                   help="stdout format (default: markdown)")
    g.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="save each finished reviewer under DIR as it finishes, and reuse what a run on the same "
                        "change saved there: a re-run after a failed post or a killed job pays nothing twice "
                        "(the Action keeps DIR in the Actions cache)")
    g.add_argument("--github-throttle", type=throttle, default=(0.25, 1.0), metavar="SECONDS[,WRITE_SECONDS]",
                   help="pause between GitHub requests and between writes (default: 0.25,1, PyGithub's; 0 turns it "
                        "off)")
    providers.add_arguments(g)
    g.set_defaults(run=run)


def run(args: argparse.Namespace, environ: dict[str, str] | None = None, **passed: Any) -> Outcome:
    """`environ`: the step's variables over the process's (a test runs two steps at once); `passed`:
    a test's `connect=` (the model transport the run opens)."""
    from reviewbot.github import run as github_run
    from reviewbot.github.event import ActionsEnv
    env = ActionsEnv.from_environ({**os.environ, **(environ or {})})
    return github_run.run(args, env, **passed)
