"""The closed vocabularies of reviewbot, one StrEnum each, and their tuples in order.

A finding's severity (most severe first), the verdict (mildest first) and a finding's placement, as
reviewbot.domain.findings validates them; the config's effort, warm-up, routing, mode and base TTL,
as reviewbot.config validates them. Plain data that imports nothing, so a command's `--help` can
list the choices without loading pydantic or the SDK. The values are public API (config files,
JSON output, markers on GitHub).
"""
from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):            # most severe first (SEVERITY_RANK: critical = 0)
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NIT = "nit"


class Verdict(StrEnum):             # the summary agent's judgment of the change, mildest first
    NO_ISSUES = "no_issues"
    MINOR_ISSUES = "minor_issues"
    NEEDS_CHANGES = "needs_changes"
    BLOCKING_ISSUES = "blocking_issues"


class Placement(StrEnum):
    INLINE = "inline"          # on a commentable new-file line of the diff
    FILE = "file"              # on a file of the change
    GENERAL = "general"        # on the change as a whole (no path, or a path outside the change)


SEVERITIES: tuple[Severity, ...] = tuple(Severity)
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)
INLINE, FILE, GENERAL = Placement.INLINE, Placement.FILE, Placement.GENERAL
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}       # critical = 0


class Effort(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"
    MAX = "max"


class Warmup(StrEnum):                 # how the cached prefix is written before the fan-out
    LEADER = "leader"
    PREWARM = "prewarm"
    NONE = "none"


class Routing(StrEnum):
    TIERED = "tiered"                  # fewer specialists for small changes
    ALL = "all"


class Mode(StrEnum):
    CACHED = "cached"
    NAIVE = "naive"                    # no breakpoints, no warm-up (the baseline to beat)


class BaseTTL(StrEnum):
    FIVE_MINUTES = "5m"
    ONE_HOUR = "1h"


EFFORTS: tuple[Effort, ...] = tuple(Effort)
WARMUP_STRATEGIES: tuple[Warmup, ...] = tuple(Warmup)
ROUTINGS: tuple[Routing, ...] = tuple(Routing)
MODES: tuple[Mode, ...] = tuple(Mode)
TTLS: tuple[BaseTTL, ...] = tuple(BaseTTL)
# Every breakpoint of a batch item (pipeline/batch.py; README "Batch mode"): here, so the flags of
# `bulk` and `bench` name it without importing the pipeline.
DEFAULT_BATCH_TTL = BaseTTL.FIVE_MINUTES
