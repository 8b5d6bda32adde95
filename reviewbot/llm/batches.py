"""What batch mode needs from the Message Batches API, and nothing more: the `Batches` protocol (send
items as one batch, or follow one sent earlier; wait for it to end, get every item's result), the
records it returns, and `ConnectBatches`, how a command opens one from a
reviewbot.llm.transport.Connection.

No SDK here, as in reviewbot.llm.transport: reviewbot.pipeline.batch types against `Batches`, and the
Anthropic implementation (reviewbot.llm.anthropic_batches, `BatchClient`) is imported when a command
first opens it (`connect_anthropic_batches`). A test passes its own Batches.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from reviewbot.domain.events import OnEvent, ignore
from reviewbot.llm.transport import Body, Connection, Reply


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: `kind` is the API's result type (succeeded, errored, expired, canceled)."""

    custom_id: str
    kind: str
    reply: Reply | None = None
    error: str | None = None
    status: int | None = None            # the HTTP status an errored item would have had, when known


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    created: float                        # clock values
    ended: float
    polls: int


class Batches(Protocol):
    """`run` sends (custom_id, params) items as one Message Batch (`betas`: the one anthropic-beta header
    of the batch), reports BatchSubmitted (as soon as the API has accepted it) and BatchEnded to
    `on_event`, and returns the batch and every item's result by custom_id; `follow` does the same for
    a batch that already exists. A batch that cannot be created or read raises
    reviewbot.errors.APIError."""

    async def run(self, items: Sequence[tuple[str, Body]], betas: Sequence[str] = (),
                  on_event: OnEvent = ignore) -> tuple[BatchInfo, dict[str, ItemResult]]: ...

    async def follow(self, batch_id: str, custom_ids: Sequence[str],
                     on_event: OnEvent = ignore) -> tuple[BatchInfo, dict[str, ItemResult]]:
        """Wait for a batch sent earlier (by a run that is gone: reviewbot.pipeline.journal) to end, and
        return its items' results as `run` does; each of `custom_ids` it lacks is reported as expired.
        A batch the API no longer has is an APIError with status 404."""
        ...


# Opens a Batches for the length of a run (the HTTP client closes with it); the float: the first poll wait.
ConnectBatches = Callable[[Connection, float], AbstractAsyncContextManager[Batches]]


def connect_anthropic_batches(connection: Connection, poll_seconds: float = 1.0
                              ) -> AbstractAsyncContextManager[Batches]:
    """The commands' default ConnectBatches: the Anthropic SDK's (imported here, when a run first needs it)."""
    from reviewbot.llm.anthropic_batches import connect_batches
    return connect_batches(connection, poll_seconds)


