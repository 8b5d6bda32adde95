"""What happens during a run, as typed progress events: one frozen dataclass per kind of thing.

The orchestrator, the agents' loop, the call gate and the commands send these to one callback,
`OnEvent` (`Callable[[Event], None]`); the terminal (reviewbot.output.terminal) decides per event
type what is shown at which level and how it reads. Nothing is formatted here and nothing
downstream parses a progress line back: a consumer that needs to know which agent finished
matches on `AgentFinished`, not on text.

`Event` is the union of every kind; the printer's `match` is checked against it for exhaustiveness.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reviewbot.domain.usage import Usage

# -- the review (reviewbot.pipeline.review) ---------------------------------------------------------


@dataclass(frozen=True)
class PrefixBuilt:
    """The shared prefix every call starts with is rendered; its hash names it in the cache logs."""

    sha256: str


@dataclass(frozen=True)
class RelatedCodeAdded:
    """The related-code section went into the shared prefix."""

    shown: int                 # snippets in the section
    tokens: int                # estimated
    budget: int
    omitted: int               # found but left out (over the budget)


@dataclass(frozen=True)
class RelatedCodeUnavailable:
    """A related-code section was asked for but none could be built (a git failure)."""

    reason: str                # the Related record's note: "related code left out: ..."


@dataclass(frozen=True)
class Resumed:
    """A kept run's finished agents are reused, not paid again."""

    agents: tuple[str, ...]
    workspace: str


@dataclass(frozen=True)
class AgentStarted:
    agent: str                 # a specialist's name, or "summary"


@dataclass(frozen=True)
class AgentFinished:
    agent: str
    findings: int


@dataclass(frozen=True)
class AgentFailed:
    agent: str
    error: str


@dataclass(frozen=True)
class LeaderFailed:
    """The first reviewer failed before its first event with an error the others would meet too."""

    agent: str
    not_started: int           # the reviewers that were then not started


@dataclass(frozen=True)
class DeadlineReached:
    """The review's deadline stopped the fan-out; finished reviewers are kept."""

    seconds: float

    @property
    def reason(self) -> str:
        """Why the review is partial (the result's `partial_reason` says the same)."""
        return (f"the review's deadline ({self.seconds:g}s) was reached: the reviewers that had finished are "
                "kept, the others were stopped")


@dataclass(frozen=True)
class SecretsFound:
    count: int                 # possible secrets in the change's added lines


@dataclass(frozen=True)
class ManipulationFound:
    count: int                 # prompt-injection attempts in the change


@dataclass(frozen=True)
class SummarySkipped:
    """No specialist raised a finding to verify: the summary agent is not called."""


# -- one agent's turns (reviewbot.agents.loop) -------------------------------------------------------


@dataclass(frozen=True)
class AgentRefused:
    """The model refused; the agent starts again on the fallback model."""

    agent: str
    model: str
    category: str | None
    fallback_model: str


@dataclass(frozen=True)
class FileRead:
    """An agent read a file with its read tool (a patch not pre-read, or a repository file)."""

    agent: str
    path: str | None


@dataclass(frozen=True)
class CodeSearched:
    """An agent called a searching tool (e.g. search_code) with this pattern."""

    agent: str
    tool: str
    pattern: Any               # as the model sent it (normally a string)


# -- the call gate (reviewbot.pipeline.schedule) and the transport -----------------------------------


@dataclass(frozen=True)
class Pacing:
    """Waiting for the input-tokens-per-minute limit before a call."""

    seconds: float


@dataclass(frozen=True)
class StreamRetried:
    """A stream broke after its first byte; the call is sent again."""

    label: str                 # the call, e.g. "security#1"
    error: str
    attempt: int
    max_retries: int


@dataclass(frozen=True)
class KeepWarm:
    """The shared prefix is refreshed before its cache entry expires."""


@dataclass(frozen=True)
class CallFinished:
    """One API call finished (or broke after its first byte: it is billed all the same)."""

    model: str
    usage: Usage
    cost: float                # dollars; 0 for a refusal the API does not bill
    cache_miss: dict[str, Any] | None = None     # the API's cache diagnostics, when it gave one
    stop_reason: str = ""


# -- batch mode (reviewbot.llm.batches, reviewbot.pipeline.batch, reviewbot bulk) ------------------------


@dataclass(frozen=True)
class BatchSubmitted:
    """A Message Batch was created with these requests (one agent turn each)."""

    batch_id: str
    requests: int


@dataclass(frozen=True)
class BatchFollowed:
    """An earlier run's Message Batch (in the --state-dir journal) is followed instead of submitting
    these requests again."""

    batch_id: str
    requests: int


@dataclass(frozen=True)
class BatchEnded:
    """A Message Batch ended: how long it took and how its items came out."""

    batch_id: str
    seconds: float
    succeeded: int
    errored: int
    expired: int
    canceled: int


@dataclass(frozen=True)
class BatchReviewFailed:
    """No batch item of a review succeeded: it is kept as a partial review with the reason."""

    error: str


@dataclass(frozen=True)
class BatchesSent:
    """The batches a batch-mode run sent: (batch id, items) each."""

    batches: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class RangesSkipped:
    """`reviewbot bulk`: ranges with nothing to review."""

    ranges: tuple[str, ...]


@dataclass(frozen=True)
class OfReview:
    """An event of one review among several of a run (`reviewbot bulk`, the bench's batch pass),
    named by its range or key."""

    review: str
    event: Event


# -- the commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokensCounting:
    """`review --dry-run`: the first requests' tokens are counted (by the endpoint, or estimated
    locally when the platform has no count_tokens endpoint)."""

    requests: int              # the requests after the shared prefix
    estimated_for: str | None = None     # the platform's title when counted locally


@dataclass(frozen=True)
class EvalStarted:
    prs: int
    cells: int
    judge_model: str
    out: str


@dataclass(frozen=True)
class EvalCell:
    """An evaluation cell (model x specialists x effort) begins (shown when there are several)."""

    label: str


@dataclass(frozen=True)
class EvalReviewReused:
    pr: str
    findings: int


@dataclass(frozen=True)
class EvalReviewing:
    pr: str
    files: int
    cell: str


@dataclass(frozen=True)
class EvalReviewed:
    pr: str
    findings: int
    cost: float


@dataclass(frozen=True)
class EvalJudging:
    pr: str
    findings: int
    golden: int                # golden comments to match against


@dataclass(frozen=True)
class EvalScored:
    pr: str
    found: int
    golden: int
    true_positives: int
    false_positives: int


@dataclass(frozen=True)
class EvalFailed:
    """The PR could not be read, reviewed or judged; the evaluation goes on with the next."""

    pr: str
    error: str


@dataclass(frozen=True)
class EvalCellScored:
    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    review_cost: float
    judge_cost: float


Event = (
    PrefixBuilt | RelatedCodeAdded | RelatedCodeUnavailable | Resumed | AgentStarted | AgentFinished | AgentFailed
    | LeaderFailed | DeadlineReached | SecretsFound | ManipulationFound | SummarySkipped | AgentRefused | FileRead
    | CodeSearched | Pacing | StreamRetried | KeepWarm | CallFinished | TokensCounting | EvalStarted | EvalCell
    | EvalReviewReused | EvalReviewing | EvalReviewed | EvalJudging | EvalScored | EvalFailed | EvalCellScored
    | BatchSubmitted | BatchFollowed | BatchEnded | BatchReviewFailed | BatchesSent | RangesSkipped | OfReview
)
"""Every kind of event (`typing.get_args(Event)` lists them)."""

OnEvent = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The callback that shows nothing (the default where no one listens)."""
