"""The one error module: every failure the user can cause or meet, with its exit code.

Errors propagate unchanged through the pipeline and become a one-line message and an exit code in
one place, the CLI (reviewbot.cli.main). Nothing else catches them to print.
"""
from __future__ import annotations

from dataclasses import dataclass

# Exit codes are public API (README, "Exit codes").
EXIT_OK = 0
EXIT_FINDINGS = 1       # --fail-on threshold reached
EXIT_USAGE = 2          # bad arguments, bad config
EXIT_INPUT = 3          # the change cannot be read: not a repo, bad ref, malformed diff
EXIT_API = 4            # Anthropic or GitHub failed after retries, or refused our credentials
EXIT_PARTIAL = 5        # the review ran but is incomplete (a specialist or the summary failed, budget hit)


@dataclass(frozen=True)
class Outcome:
    """How a command ended: its exit code and, when it is not a success, the one line that says why
    (printed to stderr by reviewbot.cli.main, the one place that prints it)."""

    exit_code: int = EXIT_OK
    message: str | None = None


class ReviewbotError(Exception):
    """Base class. str(err) is the one-line message shown to the user."""

    exit_code = EXIT_USAGE


class ConfigError(ReviewbotError):
    exit_code = EXIT_USAGE


class InputError(ReviewbotError):
    """The change cannot be read or parsed."""

    exit_code = EXIT_INPUT


class APIError(ReviewbotError):
    """A remote API failed for good, or refused our credentials. `status` is the HTTP status when
    there was one; `kind` one of "status", "connection", "timeout", "stream"."""

    exit_code = EXIT_API

    def __init__(self, message: str, status: int | None = None, kind: str = "status"):
        super().__init__(message)
        self.status, self.kind = status, kind


class CredentialsError(APIError):
    """The API refused our credentials (401/403): no other call of the run can succeed."""


class StreamBroken(APIError):
    """A stream that had begun (HTTP 200) broke: dropped, stalled, or an SSE error event. The SDK does
    not retry these; reviewbot does. `partial` is what arrived (an llm.Partial): the call was billed."""

    def __init__(self, message: str, partial=None):
        super().__init__(message, None, "stream")
        self.partial = partial


class BudgetExceeded(ReviewbotError):
    exit_code = EXIT_PARTIAL


class ToolInputError(ValueError):
    """Tool input from the model is invalid; its message goes back to the model as an is_error result."""


class NoCredentials(ConfigError):
    """`reviewbot github`: no Anthropic key (or cloud credentials) on the repository's own pull request.
    Its `skipped` output is "no-api-key" (a fork's PR without secrets is skipped, not failed)."""

    skip_code = "no-api-key"


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
