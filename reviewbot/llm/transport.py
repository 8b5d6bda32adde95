"""What the pipeline needs from a model API, and nothing more: the `Transport` protocol (send one
request, streaming, and get its Reply; count a request's input tokens), the records it returns, and
`Connection`, the settings a command opens one with.

No SDK here: the pipeline, the agents and eval type against `Transport`, and only
reviewbot.llm.anthropic_transport (the Anthropic implementation) imports `anthropic`, loaded when a
command first opens a transport (`connect_anthropic`); batch mode's client is the same split
(reviewbot.llm.batches, reviewbot.llm.anthropic_batches). A test passes its own Transport (one scripted
double, tests/conftest.py), never a patched SDK. Requests are Messages API bodies (JSON-ready dicts),
complete when they arrive (reviewbot.agents.requests builds them).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from reviewbot.llm.models import BETA_PER_MESSAGE_EFFORT
from reviewbot.llm.usage import Usage

if TYPE_CHECKING:
    from reviewbot.llm.providers import Target

Body = dict[str, Any]            # a Messages API request body, as sent
Block = dict[str, Any]           # a content block, as returned

DEFAULT_STALL_SECONDS = 90.0

# The fields of a Messages request that the count_tokens endpoint takes (it refuses max_tokens, stream).
COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "output_config")


@dataclass(frozen=True)
class Start:
    """The stream's message_start: the message id and the input side of the usage (known now)."""

    message_id: str
    usage: Usage


@dataclass(frozen=True)
class Reply:
    content: tuple[Block, ...]
    stop_reason: str
    usage: Usage
    model: str
    started: float            # time.monotonic() values
    first_byte: float
    ended: float
    message_id: str = ""
    refusal: str | None = None            # stop_details.category of a refusal
    cache_miss: dict[str, Any] | None = None   # diagnostics.cache_miss_reason
    price_factor: float = 1.0             # the platform's price relative to the Claude API's (providers)
    batch: bool = False                   # answered through the Message Batches API (reviewbot.llm.batches)


@dataclass(frozen=True)
class Partial:
    """What a broken stream delivered before it broke (its usage as far as known)."""

    usage: Usage
    model: str
    started: float
    first_byte: float
    ended: float
    message_id: str = ""
    price_factor: float = 1.0


OnStart = Callable[[Start], None]


class Transport(Protocol):
    """Sends requests to a model. `send` streams one request to its end (`on_start` is called at its
    message_start) and raises reviewbot.errors.APIError when it failed for good, StreamBroken (with
    the Partial that arrived) when a stream broke after it began. `count_tokens` is the dry run's:
    the request's input tokens, nothing generated."""

    async def send(self, request: Body, on_start: OnStart | None = None) -> Reply: ...

    async def count_tokens(self, request: Body) -> int: ...


@dataclass(frozen=True)
class Connection:
    """How a command reaches the model, read from its flags, config and environment."""

    api_key: str | None
    max_retries: int
    timeout: float
    stall_seconds: float | None = None     # None: no read timeout, and the transport's default stall limit
    target: Target | None = None           # a cloud platform (reviewbot.llm.providers); None: the Claude API
    base_url: str | None = None            # the Claude API's endpoint (None: ANTHROPIC_BASE_URL, else the SDK's)

    @classmethod
    def of(cls, config: Timeouts, api_key: str | None, target: Target | None,
           retries: int | None = None) -> Connection:
        """The connection a review opens: the config's retries (or `retries`), timeout and stall limit."""
        return cls(api_key, config.max_retries if retries is None else retries, config.timeout_seconds,
                   stall_seconds=config.stall_seconds, target=target)


class Timeouts(Protocol):
    """What a Connection takes from the config (reviewbot.config.Config)."""

    @property
    def max_retries(self) -> int: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def stall_seconds(self) -> float | None: ...


# Opens a Transport for the length of a run (the HTTP client closes with it). Commands take one.
Connect = Callable[[Connection], AbstractAsyncContextManager[Transport]]


def connect_anthropic(connection: Connection) -> AbstractAsyncContextManager[Transport]:
    """The commands' default Connect: the Anthropic SDK's client (the SDK is imported here, when a
    run first needs it, not when the CLI starts)."""
    from reviewbot.llm.anthropic_transport import connect
    return connect(connection)


def betas_for(request: Body) -> list[str]:
    """The anthropic-beta values a request needs: per-message effort (an effort-only system message)."""
    if any(m.get("role") == "system" and "output_config" in m for m in request.get("messages") or ()):
        return [BETA_PER_MESSAGE_EFFORT]
    return []
