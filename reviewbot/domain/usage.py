"""The token usage of one API call and the record of the call: plain values, no prices.

They live in domain because the review's result carries them (`ReviewResult.calls`) and every
renderer reads them; what a call costs needs the model table, so the cost math stays in
reviewbot.llm.usage (`call_cost`, `factor`, `interactive_cost`, `cost`, `summarize`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0      # part of output_tokens

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_write + self.cache_read

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int, int]:
        return (self.input_tokens, self.cache_write_5m, self.cache_write_1h, self.cache_read, self.output_tokens,
                self.thinking_tokens)


@dataclass(frozen=True)
class CallRecord:
    """One API call: who made it, what it used, and when (seconds from the start of the run)."""

    label: str                 # e.g. "security#1", "summary#2", "prewarm"
    model: str
    usage: Usage
    started: float
    first_byte: float
    ended: float
    stop_reason: str = ""
    effort: str | None = None          # the effort the reply was written at (None: the model has none)
    fallback: bool = False             # made on the fallback model after a refusal (its own cached prefix)
    broken: str | None = None          # the stream broke after its first byte (then retried): why
    cache_miss: dict[str, Any] | None = None   # the API's cache_miss_reason (cache diagnostics), when it gave one
    message_id: str = ""
    refusal: str | None = None         # the refusal category, when the model refused
    billed: bool = True                # False: a refusal the API does not bill (cyber, general_harms, none)
    price_factor: float = 1.0          # the platform's price relative to the Claude API's (regional: 1.1)
    batch: bool = False                # a Message Batches item: every token at the batch price (half)
