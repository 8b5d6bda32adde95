"""`reviewbot eval`: measure review quality on a golden set (README, "Measuring quality").

This module is the command's flags and help, light to import; the run is reviewbot.commands.eval_run,
imported by `run`. Results go to stdout (markdown or json) and to --out DIR; progress and errors to
stderr.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from reviewbot.commands.options import add_noise
from reviewbot.domain.enums import EFFORTS
from reviewbot.errors import EXIT_API, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, Outcome, exit_code_help

DEFAULT_JUDGE_MODEL = "claude-opus-5-5"

# What each exit code means for this command (errors.EXIT_CODES has the codes; README, "Measuring quality").
EXIT_MEANINGS = {
    EXIT_OK: "every PR reviewed, judged and scored",
    EXIT_USAGE: "usage or configuration error (bad golden set, flag or config; a key or token needed and missing)",
    EXIT_API: "the Anthropic or GitHub API refused the credentials",
    EXIT_PARTIAL: "some PRs could not be reviewed or judged, or a review was partial (the rest is reported)",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser(
        "eval", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review every PR of a golden set (Martian Code Review Bench format), judge the findings "
                    "against the golden comments with an LLM judge, and report precision, recall and F1 per PR, "
                    "per severity and per specialist, with the dollars spent reviewing and judging.",
        epilog=f"""matrix: --model, --specialists and --effort may each be given several times; every
combination is a cell, evaluated on the whole golden set (--specialists each: one cell per specialist).

{exit_code_help(EXIT_MEANINGS)}

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
    add_noise(e, verbose_help="also each review's events and each API call")
    e.set_defaults(run=run)




def run(args: argparse.Namespace) -> Outcome:
    from reviewbot.commands.eval_run import evaluate

    return evaluate(args)
