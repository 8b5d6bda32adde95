"""Command line entry point: parses arguments, dispatches to a command, and is the one place where
errors become a one-line message on stderr and an exit code (see README, "Exit codes").
"""
from __future__ import annotations

import argparse
import importlib
import sys

from reviewbot import __version__
from reviewbot.commands import COMMANDS
from reviewbot.errors import EXIT_USAGE, Outcome, ReviewbotError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reviewbot", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="AI code review with seven cached specialist reviewers and a summary agent.",
        epilog="""commands:
  reviewbot review    review a local branch, a git range or a patch file (reviewbot review --help)
  reviewbot github    review a pull request and post one review on GitHub (the Action runs this)
  reviewbot bench     measure cost and latency on a corpus of PRs against cachesim
  reviewbot eval      measure review quality on a golden set: precision, recall, F1 (reviewbot eval --help)

configuration: .reviewbot.toml or [tool.reviewbot] in pyproject.toml (README, "Configuration")
environment:   ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL (optional), GITHUB_TOKEN (github)
exit codes:    0 ok, 1 --fail-on reached, 2 usage/config, 3 unreadable change, 4 API failure, 5 partial""")
    p.add_argument("--version", action="version", version=f"reviewbot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"reviewbot.commands.{name}").register(sub)
    return p


def main(argv: list[str] | None = None, **passed: object) -> int:
    """`passed` goes to the command's run (a test's `connect=`: the model transport it opens)."""
    p = parser()
    args = p.parse_args(argv)
    if getattr(args, "run", None) is None:
        p.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result = args.run(args, **passed)
        if isinstance(result, Outcome):
            if result.message:
                print(f"reviewbot: {result.message}", file=sys.stderr)
            return result.exit_code
        return int(result)
    except ReviewbotError as e:
        print(f"reviewbot: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("reviewbot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
