"""Usage records and cost math: every call's `usage`, priced, and the run's totals.

Pure. Prices come from the model table (reviewbot.llm.models), per request: Haiku 5.5's prompt size
(input + cache reads + writes) picks its band. The no-cache baseline bills every input token of the
same requests at the base input price, which is what the run would have cost without prompt
caching. Thinking tokens are output tokens (billed at the output price) and are shown apart.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reviewbot.domain.usage import CallRecord as CallRecord  # re-exported: the records moved to domain
from reviewbot.domain.usage import Usage as Usage
from reviewbot.llm.models import BATCH_FACTOR, Price, model_info


def price_of(model: str, prompt_tokens: int = 0) -> Price:
    """The model's prices for a prompt of this size (an unknown model is a ConfigError)."""
    return model_info(model).price_for(prompt_tokens)


def _getter(u: Any) -> Callable[[str], Any]:
    return (lambda k: u.get(k)) if isinstance(u, dict) else (lambda k: getattr(u, k, None))


def usage_from_api(u: Any) -> Usage:
    """From the SDK's usage object (or its dict form). Unknown split of a write is taken as 5m."""
    get = _getter(u)
    created = get("cache_creation_input_tokens") or 0
    split = get("cache_creation")
    if split is not None:
        sget = _getter(split)
        w1h = sget("ephemeral_1h_input_tokens") or 0
        w5m = sget("ephemeral_5m_input_tokens") or 0
        if w5m + w1h != created:
            w5m = created - w1h
    else:
        w5m, w1h = created, 0
    details = get("output_tokens_details")
    thinking = (_getter(details)("thinking_tokens") or 0) if details is not None else 0
    return Usage(get("input_tokens") or 0, w5m, w1h, get("cache_read_input_tokens") or 0, get("output_tokens") or 0,
                 thinking)


def cost(u: Usage, model: str, factor: float = 1.0) -> float:
    p = price_of(model, u.total_input)
    return factor * (u.input_tokens * p.input + u.cache_write_5m * p.write_5m + u.cache_write_1h * p.write_1h
                     + u.cache_read * p.read + u.output_tokens * p.output) / 1_000_000


def naive_cost(u: Usage, model: str) -> float:
    """The same tokens with no caching: every input token at the base price."""
    p = price_of(model, u.total_input)
    return (u.total_input * p.input + u.output_tokens * p.output) / 1_000_000


def price_multiplier(price_factor: float, batch: bool) -> float:
    """A call's price relative to the Claude API's list price: the platform's factor, times the batch
    discount for a Message Batches item (a CallRecord's `factor`, a Reply's at the transport)."""
    return price_factor * (BATCH_FACTOR if batch else 1.0)


def factor(r: CallRecord) -> float:
    """The call's price relative to the Claude API's list price (`price_multiplier`)."""
    return price_multiplier(r.price_factor, r.batch)


def call_cost(r: CallRecord) -> float:
    """What one call cost: its usage at its model's prices, times its factor; 0 when unbilled."""
    return cost(r.usage, r.model) * factor(r) if r.billed else 0.0


def interactive_cost(r: CallRecord) -> float:
    """What the call would have cost outside a batch (its batch discount is this minus `call_cost`)."""
    return cost(r.usage, r.model) * r.price_factor if r.billed else 0.0


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
    return RunUsage(len(records), total, sum(call_cost(r) for r in records),
                    sum(naive_cost(r.usage, r.model) * factor(r) for r in records if r.billed))


REFUSALS_BILLED = ("bio", "frontier_llm", "reasoning_extraction")   # the docs: billed before any output


def fan_out_hit_rate(records: tuple[CallRecord, ...], prefix_tokens: int) -> tuple[float, float] | None:
    """(actual, bound) cache hit rate of the first-turn calls of a fan-out: the bound is every call but
    the first reading the shared prefix. None when there are fewer than five such calls."""
    first = [r for r in records if r.label.endswith("#1") and not r.fallback and not r.broken]
    total = sum(r.usage.total_input for r in first)
    if len(first) < 5 or not total or not prefix_tokens:
        return None
    ideal = max(0, sum(min(prefix_tokens, r.usage.total_input) for r in first) - prefix_tokens)
    return sum(r.usage.cache_read for r in first) / total, ideal / total


def _call_json(r: CallRecord) -> dict[str, Any]:
    return {"label": r.label, "model": r.model, "input_tokens": r.usage.input_tokens,
            "cache_write_5m": r.usage.cache_write_5m, "cache_write_1h": r.usage.cache_write_1h,
            "cache_read": r.usage.cache_read, "output_tokens": r.usage.output_tokens,
            "thinking_tokens": r.usage.thinking_tokens, "effort": r.effort,
            "cost_usd": round(call_cost(r), 6), "started": round(r.started, 3),
            "first_byte": round(r.first_byte, 3), "ended": round(r.ended, 3),
            "stop_reason": r.stop_reason, "fallback": r.fallback, "broken": r.broken,
            "cache_miss_reason": r.cache_miss, "refusal": r.refusal, "billed": r.billed, "batch": r.batch}


def usage_json(records: tuple[CallRecord, ...]) -> dict[str, Any]:
    run = summarize(records)
    return {
        "calls": [_call_json(r) for r in records],
        "totals": {"calls": run.calls, "input_tokens": run.usage.input_tokens,
                   "cache_write_5m": run.usage.cache_write_5m, "cache_write_1h": run.usage.cache_write_1h,
                   "cache_read": run.usage.cache_read, "output_tokens": run.usage.output_tokens,
                   "thinking_tokens": run.usage.thinking_tokens,
                   "broken_streams": sum(1 for r in records if r.broken),
                   "fallback_calls": sum(1 for r in records if r.fallback),
                   "cache_misses": sum(1 for r in records if r.cache_miss),
                   "hit_rate": None if run.hit_rate is None else round(run.hit_rate, 4),
                   "cost_usd": round(run.cost, 6), "no_cache_cost_usd": round(run.naive_cost, 6),
                   "saving": None if run.saving is None else round(run.saving, 4),
                   "batch_calls": sum(1 for r in records if r.batch),
                   "batch_discount_usd": round(sum(interactive_cost(r) - call_cost(r) for r in records), 6)},
    }
