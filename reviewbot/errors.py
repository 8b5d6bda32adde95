"""The one error module: every exception reviewbot raises, each carrying its exit code, and the one
table of exit codes.

Errors propagate unchanged through the pipeline and become a one-line message and an exit code in
one place, the CLI (reviewbot.cli.main). Nothing else catches them to print. A command that ends
without an exception returns an `Outcome` (its exit code, and the line that says why when it is not
a success).

Exit codes are public API. `EXIT_CODES` is their one table (code, name, meaning); `reviewbot --help`
is made from it, each command's help renders its own wording of the codes it uses with
`exit_code_help`, and tests/test_cli.py checks the README's exit-code tables against both:

    code  name         raised as / returned by
    0     ok           Outcome(EXIT_OK)
    1     findings     Outcome(EXIT_FINDINGS): --fail-on reached (wins over 5)
    2     usage        ConfigError, MissingCredentials; argparse's own usage errors
    3     input        InputError; an OSError (a file or directory that cannot be read or written)
    4     api          APIError and its subclasses; a ConnectionError or TimeoutError from the OS
    5     partial      BudgetExceeded; Outcome(EXIT_PARTIAL)
    130   interrupted  KeyboardInterrupt (Ctrl-C)
    141   broken-pipe  stdout closed by its reader (`reviewbot review | head -1`): no message

ToolInputError (and RepoError) is not a failure of the run: its message goes back to the model as an
is_error tool result, so it has no exit code.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_FINDINGS = 1       # --fail-on threshold reached
EXIT_USAGE = 2          # bad arguments, bad config, missing credentials
EXIT_INPUT = 3          # the change cannot be read: not a repo, bad ref, malformed diff; a file not readable/writable
EXIT_API = 4            # Anthropic or GitHub failed after retries, or refused our credentials
EXIT_PARTIAL = 5        # the review ran but is incomplete (a specialist or the summary failed, budget hit)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader went away


@dataclass(frozen=True)
class ExitCode:
    code: int
    name: str
    meaning: str


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, "ok", "done, or nothing to do"),
    ExitCode(EXIT_FINDINGS, "findings", "--fail-on reached"),
    ExitCode(EXIT_USAGE, "usage", "usage, configuration or missing credentials"),
    ExitCode(EXIT_INPUT, "input", "the input cannot be read, or a file cannot be written"),
    ExitCode(EXIT_API, "api", "an API failed after retries or refused the credentials"),
    ExitCode(EXIT_PARTIAL, "partial", "the run is incomplete; the rest is reported"),
    ExitCode(EXIT_INTERRUPTED, "interrupted", "interrupted (Ctrl-C)"),
    ExitCode(EXIT_BROKEN_PIPE, "broken-pipe", "stdout was closed by its reader; nothing more is written"),
)
BY_CODE: dict[int, ExitCode] = {c.code: c for c in EXIT_CODES}


def exit_code_summary() -> str:
    """The one-line list of every code, for `reviewbot --help`."""
    return ", ".join(f"{c.code} {c.name}" for c in EXIT_CODES)


EVERY_COMMAND = (EXIT_INTERRUPTED, EXIT_BROKEN_PIPE)     # codes any command can end with, in its own words


def command_exit_codes(meanings: Mapping[int, str]) -> dict[int, str]:
    """A command's exit codes and what each means for it: its own wording of the codes it uses, then
    the codes every command has (EVERY_COMMAND) in the table's words. Every code must be in EXIT_CODES."""
    unknown = sorted(set(meanings) - set(BY_CODE))
    if unknown:
        raise ValueError(f"exit codes not in errors.EXIT_CODES: {unknown}")
    return {**dict(sorted(meanings.items())), **{c: BY_CODE[c].meaning for c in EVERY_COMMAND if c not in meanings}}


def exit_code_help(meanings: Mapping[int, str], width: int = 100) -> str:
    """A command's "exit codes:" help section (command_exit_codes), one code a line, continuation lines
    indented under the text."""
    lines = ["exit codes:"]
    for code, meaning in command_exit_codes(meanings).items():
        head = f"  {code:<3}  " if code >= 10 else f"  {code}  "
        lines += textwrap.wrap(meaning, width, initial_indent=head, subsequent_indent=" " * len(head),
                               break_on_hyphens=False)
    return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """How a command ended: its exit code and, when it is not a success, the one line that says why
    (printed to stderr by reviewbot.cli.main, the one place that prints it)."""

    exit_code: int = EXIT_OK
    message: str | None = None


class ReviewbotError(Exception):
    """Base class. str(err) is the one-line message shown to the user; `exit_code` its exit code."""

    exit_code = EXIT_USAGE


class ConfigError(ReviewbotError):
    """Bad flags, a bad config file or key, a model or setting the platform lacks (exit 2)."""

    exit_code = EXIT_USAGE


class MissingCredentials(ConfigError):
    """A key or credential the run needs is not there (exit 2). On a pull request from a fork or
    Dependabot that is expected (GitHub gives them no secrets): `reviewbot github` reports it with the
    `skipped` output "no-api-key"."""


class InputError(ReviewbotError):
    """The change cannot be read or parsed, or a file the run writes cannot be written (exit 3)."""

    exit_code = EXIT_INPUT


class DiffParseError(InputError):
    """Where a diff stops parsing: the parser's message and the 1-based line number. Raised inside
    reviewbot.change.parse, which reports it as one `malformed diff: ... (line N)` InputError."""

    def __init__(self, message: str, line_no: int) -> None:
        super().__init__(message)
        self.line_no = line_no


class APIError(ReviewbotError):
    """A remote API failed for good, or refused our credentials (exit 4). `status` is the HTTP status
    when there was one; `kind` one of "status", "connection", "timeout", "stream"."""

    exit_code = EXIT_API

    def __init__(self, message: str, status: int | None = None, kind: str = "status"):
        super().__init__(message)
        self.status, self.kind = status, kind


class CredentialsError(APIError):
    """The API refused our credentials (401/403): no other call of the run can succeed."""


class StreamBroken(APIError):
    """A stream that had begun (HTTP 200) broke: dropped, stalled, or an SSE error event. The SDK does
    not retry these; reviewbot does. `partial` is what arrived (an llm.Partial): the call was billed."""

    def __init__(self, message: str, partial: Any = None):
        super().__init__(message, None, "stream")
        self.partial = partial


class ReadOnlyToken(APIError):
    """GitHub refused a write: the token may read the PR but not comment (fork PRs, `pull-requests: read`)."""


class Forbidden(APIError):
    """A GraphQL mutation GitHub refused for lack of a permission (FORBIDDEN): e.g. resolving a thread
    with a GITHUB_TOKEN that lacks `contents: write`."""


class Unprocessable(APIError):
    """A 422: GitHub understood the request and refused it (a comment off the diff, a body too long ...)."""

    def __init__(self, message: str, errors: tuple[str, ...] = ()):
        super().__init__(message)
        self.errors = errors


class BudgetExceeded(ReviewbotError):
    """The run's token or dollar budget stopped it (exit 5)."""

    exit_code = EXIT_PARTIAL


class ToolInputError(ValueError):
    """Tool input from the model is invalid; its message goes back to the model as an is_error result."""


class RepoError(ToolInputError):
    """A repository read or search failed; the message goes back to the model as an is_error result."""
