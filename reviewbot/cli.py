"""Command line entry point: parses arguments, dispatches to a command, and is the one place where a
command's Outcome or error becomes a one-line message on stderr and an exit code (reviewbot.errors
has the table; README, "Exit codes").

A command's module is imported only when the command is used: `reviewbot --help` lists the commands
from reviewbot.commands.COMMANDS alone, and a command's module is light (its flags), importing the
pipeline inside its `run`. So help and usage errors answer at once, without the SDKs.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reviewbot import __version__
from reviewbot.commands import COMMANDS
from reviewbot.errors import (
    EXIT_API,
    EXIT_BROKEN_PIPE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Outcome,
    ReviewbotError,
    exit_code_summary,
)

if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsers = argparse._SubParsersAction

EPILOG = """each command's flags, exit codes and environment: reviewbot COMMAND --help

configuration: .reviewbot.toml or [tool.reviewbot] in pyproject.toml (README, "Configuration")
environment:   ANTHROPIC_API_KEY (required), ANTHROPIC_BASE_URL (optional), GITHUB_TOKEN (github)
"""


class _Commands(_SubParsers):
    """The subcommands. Each is listed (name and one-line help) from COMMANDS; its module is imported
    and its `register` called when the command is parsed, so only the command used is ever imported."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pending: set[str] = set()

    def add_lazy(self, name: str, help: str) -> None:
        self.add_parser(name, help=help)            # a placeholder until the command is used
        self._pending.add(name)

    def load(self, name: str) -> None:
        if name not in self._pending:
            return
        self._pending.discard(name)
        del self._name_parser_map[name]
        listed = list(self._choices_actions)
        importlib.import_module(f"reviewbot.commands.{name}").register(self)
        self._choices_actions[:] = listed           # the listing keeps COMMANDS' one line

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        if isinstance(values, Sequence) and values and isinstance(values[0], str):
            self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reviewbot", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="AI code review with seven cached specialist reviewers and a summary agent.",
        epilog=EPILOG + textwrap.fill(f"{exit_code_summary()} (README, \"Exit codes\")",
                                      100, initial_indent="exit codes:    ", subsequent_indent=" " * 15,
                                      break_on_hyphens=False))
    p.add_argument("--version", action="version", version=f"reviewbot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", action=_Commands)
    assert isinstance(sub, _Commands)
    for name, line in COMMANDS.items():
        sub.add_lazy(name, line)
    return p


def _say(line: str) -> None:
    try:
        print(f"reviewbot: {line}", file=sys.stderr)
    except (BrokenPipeError, ValueError):           # stderr closed too: the exit code still says it
        pass


def _stdout_closed() -> int:
    """stdout's reader went away (`reviewbot review | head -1`): no message, no traceback, exit 141.
    stdout is pointed at /dev/null so that the interpreter's flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # not a real file (a test's capture): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def _os_message(e: OSError) -> str:
    what = e.strerror or str(e)
    return f"{e.filename}: {what}" if e.filename is not None else what


def _outcome(result: Outcome | int) -> Outcome:
    return result if isinstance(result, Outcome) else Outcome(int(result))


def main(argv: list[str] | None = None, **passed: object) -> int:
    """Runs one command; returns its exit code. `passed` goes to the command's run (a test's `connect=`:
    the model transport it opens). Every failure is one line on stderr, never a traceback:
    ReviewbotError -> its message and its exit_code; ConnectionError/TimeoutError from the OS -> 4;
    any other OSError (a path that cannot be read or written) -> 3; stdout closed -> 141, silently;
    Ctrl-C -> 130."""
    try:
        p = parser()
        args = p.parse_args(argv)
        if getattr(args, "run", None) is None:
            p.print_help(sys.stderr)
            return EXIT_USAGE
        outcome = _outcome(args.run(args, **passed))
        sys.stdout.flush()                          # a closed pipe fails here, not at the interpreter's exit
    except BrokenPipeError:
        return _stdout_closed()
    except ReviewbotError as e:
        _say(f"error: {e}")
        return e.exit_code
    except OSError as e:
        if e.errno == errno.EPIPE:
            return _stdout_closed()
        _say(f"error: {_os_message(e)}")
        return EXIT_API if isinstance(e, (ConnectionError, TimeoutError)) else EXIT_INPUT
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    if outcome.message:
        _say(outcome.message)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
