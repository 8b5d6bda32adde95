"""Usage records and cost math: every call's `usage`, priced, and the run's totals.

Pure. The pricing table is the one place prices live ($ per million tokens, by model family,
longest matching key wins). The no-cache baseline bills every input token of the same requests at
the base input price, which is what the run would have cost without prompt caching.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input: float
    write_5m: float
    write_1h: float
    read: float
    output: float


# $ / MTok. Keys are substrings of model ids; the longest key found in the id wins.
PRICES: dict[str, Price] = {
    "claude-sonnet": Price(3.00, 3.75, 6.00, 0.30, 15.00),
    "claude-3-7-sonnet": Price(3.00, 3.75, 6.00, 0.30, 15.00),
    "claude-opus-4-5": Price(5.00, 6.25, 10.00, 0.50, 25.00),
    "claude-opus-4-6": Price(5.00, 6.25, 10.00, 0.50, 25.00),
    "claude-opus-4-7": Price(5.00, 6.25, 10.00, 0.50, 25.00),
    "claude-opus-4-8": Price(5.00, 6.25, 10.00, 0.50, 25.00),
    "claude-opus-5": Price(5.00, 6.25, 10.00, 0.50, 25.00),
    "claude-opus-4-1": Price(15.00, 18.75, 30.00, 1.50, 75.00),
    "claude-opus-4-0": Price(15.00, 18.75, 30.00, 1.50, 75.00),
    "claude-opus-4-2025": Price(15.00, 18.75, 30.00, 1.50, 75.00),   # claude-opus-4-20250514
    "claude-haiku-4-5": Price(1.00, 1.25, 2.00, 0.10, 5.00),
    "claude-3-5-haiku": Price(0.80, 1.00, 1.60, 0.08, 4.00),
}
DEFAULT_PRICE = PRICES["claude-sonnet"]


def price_of(model: str) -> Price:
    keys = [k for k in PRICES if k in model]
    return PRICES[max(keys, key=len)] if keys else DEFAULT_PRICE


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    output_tokens: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_write + self.cache_read

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self):
        return (self.input_tokens, self.cache_write_5m, self.cache_write_1h, self.cache_read, self.output_tokens)


def usage_from_api(u) -> Usage:
    """From the SDK's usage object (or its dict form). Unknown split of a write is taken as 5m."""
    get = (lambda k: u.get(k)) if isinstance(u, dict) else (lambda k: getattr(u, k, None))
    created = get("cache_creation_input_tokens") or 0
    split = get("cache_creation")
    if split is not None:
        sget = (lambda k: split.get(k)) if isinstance(split, dict) else (lambda k: getattr(split, k, None))
        w1h = sget("ephemeral_1h_input_tokens") or 0
        w5m = sget("ephemeral_5m_input_tokens") or 0
        if w5m + w1h != created:
            w5m = created - w1h
    else:
        w5m, w1h = created, 0
    return Usage(get("input_tokens") or 0, w5m, w1h, get("cache_read_input_tokens") or 0, get("output_tokens") or 0)


def cost(u: Usage, model: str) -> float:
    p = price_of(model)
    return (u.input_tokens * p.input + u.cache_write_5m * p.write_5m + u.cache_write_1h * p.write_1h
            + u.cache_read * p.read + u.output_tokens * p.output) / 1_000_000


def naive_cost(u: Usage, model: str) -> float:
    """The same tokens with no caching: every input token at the base price."""
    p = price_of(model)
    return (u.total_input * p.input + u.output_tokens * p.output) / 1_000_000


@dataclass(frozen=True)
class CallRecord:
    """One API call: who made it, what it cost, and when (seconds from the start of the run)."""

    label: str                 # e.g. "security#1", "summary#2", "prewarm"
    model: str
    usage: Usage
    started: float
    first_byte: float
    ended: float
    stop_reason: str = ""

    @property
    def cost(self) -> float:
        return cost(self.usage, self.model)


@dataclass(frozen=True)
class RunUsage:
    calls: int
    usage: Usage
    cost: float
    naive_cost: float

    @property
    def hit_rate(self) -> float | None:
        """Cache read / (read + write + uncached input), the same definition as cachesim's."""
        total = self.usage.total_input
        return self.usage.cache_read / total if total else None

    @property
    def saving(self) -> float | None:
        return 1 - self.cost / self.naive_cost if self.naive_cost else None


def summarize(records: tuple[CallRecord, ...]) -> RunUsage:
    total = sum((r.usage for r in records), Usage())
    return RunUsage(len(records), total, sum(r.cost for r in records),
                    sum(naive_cost(r.usage, r.model) for r in records))


def usage_json(records: tuple[CallRecord, ...]) -> dict:
    run = summarize(records)
    return {
        "calls": [{"label": r.label, "model": r.model, "input_tokens": r.usage.input_tokens,
                   "cache_write_5m": r.usage.cache_write_5m, "cache_write_1h": r.usage.cache_write_1h,
                   "cache_read": r.usage.cache_read, "output_tokens": r.usage.output_tokens,
                   "cost_usd": round(r.cost, 6), "started": round(r.started, 3),
                   "first_byte": round(r.first_byte, 3), "ended": round(r.ended, 3),
                   "stop_reason": r.stop_reason} for r in records],
        "totals": {"calls": run.calls, "input_tokens": run.usage.input_tokens,
                   "cache_write_5m": run.usage.cache_write_5m, "cache_write_1h": run.usage.cache_write_1h,
                   "cache_read": run.usage.cache_read, "output_tokens": run.usage.output_tokens,
                   "hit_rate": None if run.hit_rate is None else round(run.hit_rate, 4),
                   "cost_usd": round(run.cost, 6), "no_cache_cost_usd": round(run.naive_cost, 6),
                   "saving": None if run.saving is None else round(run.saving, 4)},
    }
