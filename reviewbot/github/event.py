"""What a GitHub Actions step is told: the `pull_request` event payload and the GITHUB_* variables.

Both come from outside, so they are validated here into frozen values, and every problem is one
`InputError` (or `ConfigError` for a missing variable) naming the field. Nothing here does network
I/O; reading the event file is the only I/O. The token is kept out of every repr.

The payload of `pull_request` and `pull_request_target` events has the same shape; anything else
(a `push`, an `issue_comment`) has no `pull_request` object and is refused.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewbot.errors import ConfigError, InputError

# The `pull_request` actions that ask for a review; any other action (closed, labeled, edited ...)
# is answered with "nothing to do".
REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
MANUAL = "manual"                 # `reviewbot github --repo o/r --pr N`: no event at all
DEFAULT_API_URL = "https://api.github.com"
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class PullRequestEvent:
    """The parts of the event the bot uses. `head_repository` is None when the fork was deleted."""

    name: str                      # GITHUB_EVENT_NAME: pull_request, pull_request_target, or MANUAL
    action: str
    repository: str                # owner/name of the base repository
    number: int
    head_sha: str = ""
    base_sha: str = ""
    head_repository: str | None = None
    draft: bool = False
    state: str = "open"
    author: str = ""
    sender: str = ""

    @property
    def from_fork(self) -> bool:
        """A PR from another repository: GitHub gives its `pull_request` runs a read-only token and no secrets."""
        return self.name != MANUAL and (self.head_repository or "").lower() != self.repository.lower()

    @property
    def restricted(self) -> bool:
        """A run GitHub treats like a fork's (read-only token, no secrets): forks and Dependabot."""
        return self.from_fork or "dependabot[bot]" in (self.author, self.sender)

    @property
    def wants_review(self) -> bool:
        return self.action in REVIEW_ACTIONS or self.action == MANUAL


@dataclass(frozen=True)
class ActionsEnv:
    """The GITHUB_* variables of a step. `token` never shows in a repr or a message."""

    api_url: str = DEFAULT_API_URL
    token: str = field(default="", repr=False)
    event_path: str = ""
    event_name: str = ""
    repository: str = ""
    step_summary: str = ""
    output: str = ""
    in_actions: bool = False

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ActionsEnv:
        return cls(api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
                   token=(env.get("GITHUB_TOKEN") or "").strip(),
                   event_path=env.get("GITHUB_EVENT_PATH", ""), event_name=env.get("GITHUB_EVENT_NAME", ""),
                   repository=env.get("GITHUB_REPOSITORY", ""), step_summary=env.get("GITHUB_STEP_SUMMARY", ""),
                   output=env.get("GITHUB_OUTPUT", ""), in_actions=env.get("GITHUB_ACTIONS") == "true")


def _get(obj: Any, *keys: str, where: str, kind: type | None = None, required: bool = True) -> Any:
    """obj[keys[0]][keys[1]]..., checked to be of `kind`; InputError naming the dotted field."""
    name = ".".join(keys)
    for key in keys:
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            if required:
                raise InputError(f"{where}: '{name}' is missing")
            return None
        obj = obj[key]
    if kind is not None and (not isinstance(obj, kind) or (kind is int and isinstance(obj, bool))):
        raise InputError(f"{where}: '{name}' must be {'an integer' if kind is int else kind.__name__}")
    return obj


def parse_event(payload: object, event_name: str, where: str = "event") -> PullRequestEvent:
    """Validate a webhook payload (already parsed JSON) into a PullRequestEvent."""
    if not isinstance(payload, dict):
        raise InputError(f"{where}: the payload is not a JSON object")
    if not isinstance(payload.get("pull_request"), dict):
        what = f"a {event_name!r} event" if event_name else "this event"
        raise InputError(f"{where}: {what} has no pull_request; run reviewbot github on pull_request events")
    number = _get(payload, "pull_request", "number", where=where, kind=int)
    head_sha = _get(payload, "pull_request", "head", "sha", where=where, kind=str)
    base_sha = _get(payload, "pull_request", "base", "sha", where=where, kind=str)
    for key, sha in (("head", head_sha), ("base", base_sha)):
        if not _SHA.fullmatch(sha):
            raise InputError(f"{where}: 'pull_request.{key}.sha' is not a commit id")
    repository = (_get(payload, "repository", "full_name", where=where, kind=str, required=False)
                  or _get(payload, "pull_request", "base", "repo", "full_name", where=where, kind=str))
    if not _REPO.fullmatch(repository):
        raise InputError(f"{where}: 'repository.full_name' is not owner/name")
    return PullRequestEvent(
        name=event_name or "pull_request",
        action=_get(payload, "action", where=where, kind=str),
        repository=repository,
        number=number,
        head_sha=head_sha,
        base_sha=base_sha,
        head_repository=_get(payload, "pull_request", "head", "repo", "full_name", where=where, kind=str,
                             required=False),
        draft=bool(_get(payload, "pull_request", "draft", where=where, kind=bool, required=False)),
        state=_get(payload, "pull_request", "state", where=where, kind=str, required=False) or "open",
        author=_get(payload, "pull_request", "user", "login", where=where, kind=str, required=False) or "",
        sender=_get(payload, "sender", "login", where=where, kind=str, required=False) or "",
    )


def read_event(path: str, event_name: str) -> PullRequestEvent:
    """The event file named by GITHUB_EVENT_PATH (or --event)."""
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set: run in GitHub Actions, or pass --event FILE "
                          "or --repo OWNER/NAME --pr N")
    return parse_event(_load_event(path), event_name, f"event file {Path(path).name}")


def _load_event(path: str) -> object:
    """The payload of an event file (any JSON: the parsers check it is an object); a missing or
    unreadable file is one line (exit 3)."""
    try:
        payload: object = json.loads(Path(path).read_text(encoding="utf-8"))
        return payload
    except FileNotFoundError:
        raise InputError(f"event file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"event file {path}: not valid JSON ({type(e).__name__})") from None


def manual_event(repository: str, number: int) -> PullRequestEvent:
    """`--repo OWNER/NAME --pr N`: review that PR as it is now (head and base come from the API)."""
    if not _REPO.fullmatch(repository or ""):
        raise ConfigError(f"--repo must be OWNER/NAME, got {repository!r}")
    if number < 1:
        raise ConfigError(f"--pr must be a pull request number, got {number}")
    return PullRequestEvent(name=MANUAL, action=MANUAL, repository=repository, number=number)


# The conversation events: a comment on the PR, a reply in a review thread, a submitted review.
CONVERSATION_EVENTS = ("issue_comment", "pull_request_review_comment", "pull_request_review")
CONVERSATION_ACTIONS = ("created", "submitted")
# Who may command the bot: people with write access to the repository (GitHub's author association).
TRUSTED_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")


@dataclass(frozen=True)
class ConversationEvent:
    """A person wrote on the PR: an issue comment, a review comment (a reply when `in_reply_to`),
    or a review's body. `trusted` is False for anyone without write access to the repository."""

    name: str                      # one of CONVERSATION_EVENTS
    action: str
    repository: str
    number: int
    comment_id: int                # the comment's (or the review's) id
    body: str
    login: str
    association: str
    in_reply_to: int | None = None
    is_pull_request: bool = True   # an issue_comment on a plain issue is not for the bot

    @property
    def trusted(self) -> bool:
        return self.association.upper() in TRUSTED_ASSOCIATIONS and not self.login.endswith("[bot]")

    @property
    def wants_answer(self) -> bool:
        return self.action in CONVERSATION_ACTIONS and self.is_pull_request


def parse_conversation(payload: object, event_name: str, where: str = "event") -> ConversationEvent:
    """Validate an issue_comment, pull_request_review_comment or pull_request_review payload."""
    if not isinstance(payload, dict):
        raise InputError(f"{where}: the payload is not a JSON object")
    obj_key = "review" if event_name == "pull_request_review" else "comment"
    if event_name == "issue_comment":
        number = _get(payload, "issue", "number", where=where, kind=int)
        is_pr = isinstance((payload.get("issue") or {}).get("pull_request"), dict)
    else:
        number = _get(payload, "pull_request", "number", where=where, kind=int)
        is_pr = True
    repository = _get(payload, "repository", "full_name", where=where, kind=str)
    if not _REPO.fullmatch(repository):
        raise InputError(f"{where}: 'repository.full_name' is not owner/name")
    reply = _get(payload, obj_key, "in_reply_to_id", where=where, kind=int, required=False)
    return ConversationEvent(
        name=event_name, action=_get(payload, "action", where=where, kind=str), repository=repository,
        number=number, comment_id=_get(payload, obj_key, "id", where=where, kind=int),
        body=_get(payload, obj_key, "body", where=where, kind=str, required=False) or "",
        login=_get(payload, obj_key, "user", "login", where=where, kind=str, required=False) or "",
        association=_get(payload, obj_key, "author_association", where=where, kind=str, required=False) or "NONE",
        in_reply_to=reply, is_pull_request=is_pr)


def read_any_event(path: str, event_name: str) -> PullRequestEvent | ConversationEvent:
    """The event file: a conversation event for the three comment kinds, else a pull_request one."""
    if event_name not in CONVERSATION_EVENTS:
        return read_event(path, event_name)
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set: run in GitHub Actions, or pass --event FILE")
    return parse_conversation(_load_event(path), event_name, f"event file {Path(path).name}")
