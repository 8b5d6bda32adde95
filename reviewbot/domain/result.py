"""What a review produced: `ReviewResult`, with each reviewer's `AgentStatus`, the cache `Schedule`
and the `Related` code the shared prefix carried.

These are the records every consumer reads (output/ renders them as markdown, json, sarif and
terminal lines; github/ posts them; bench and eval score them), so they live in domain, where
nothing imports the orchestrator, the transport or the SDK to read a result. Plain values: the
orchestrator (reviewbot.pipeline.review) builds them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reviewbot.domain.change import ChangeMeta
from reviewbot.domain.findings import Finding, Submission
from reviewbot.domain.usage import CallRecord


class Status(StrEnum):
    """How a reviewer (or the summary agent) ended; the values are what the outputs print."""

    OK = "ok"
    FAILED = "failed"
    IDLE = "idle"                 # not run: no file of its kinds, or the routing tier left it out


@dataclass(frozen=True)
class AgentStatus:
    name: str
    status: Status
    findings: int = 0
    files: tuple[str, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """When each call that carried the shared prefix was dispatched (seconds from the first one).

    Every call reads, and so refreshes, the cached prefix; the prefix stays warm as long as no gap
    between consecutive dispatches reaches the TTL."""

    strategy: str
    prefix_sha256: str
    ttl_seconds: float
    dispatch_offsets: tuple[tuple[str, float], ...]

    @property
    def longest_gap(self) -> float:
        times = sorted(t for _, t in self.dispatch_offsets)
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    @property
    def within_ttl(self) -> bool:
        return self.longest_gap < self.ttl_seconds


@dataclass(frozen=True)
class Related:
    """The related-code section of the shared prefix (reviewbot.repo.related builds it)."""

    text: str                 # the section ("" when off or nothing was found)
    budget: int
    tokens: int               # estimated tokens of `text`
    shown: int
    found: int
    note: str = ""            # why there is no section although one was asked for (a git failure)

    @property
    def omitted(self) -> int:
        return self.found - self.shown


@dataclass(frozen=True)
class ReviewResult:
    meta: ChangeMeta
    files_changed: int
    additions: int
    deletions: int
    findings: tuple[Finding, ...]
    verdict: str | None
    overview: str | None
    agents: tuple[AgentStatus, ...]
    summary: AgentStatus | None
    rejected: tuple[tuple[Finding, str], ...]
    low_confidence: tuple[Finding, ...]
    duplicates_folded: int
    calls: tuple[CallRecord, ...]
    schedule: Schedule | None
    notes: tuple[str, ...] = ()
    raw: dict[str, Submission | None] = field(default_factory=dict, compare=False)   # specialist -> raw submission
    partial_reason: str | None = None          # why the review stopped early (deadline, budget), if it did
    secrets: tuple[str, ...] = field(default=(), compare=False, repr=False)   # every secret value seen: redacted
    related: Related | None = None              # the related-code section of the shared prefix
    tool_calls: tuple[tuple[str, str, int], ...] = ()   # (agent, tool, calls) of the reading tools

    @property
    def complete(self) -> bool:
        return self.partial_reason is None and all(a.status != Status.FAILED for a in self.agents) and (
            self.summary is None or self.summary.status == Status.OK)
