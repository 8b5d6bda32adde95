"""The benchmark's numbers: one row per reviewed PR, the totals, and the target checks. Pure.

A row is computed from what one review left behind: its slice of the cachesim ledger (the entries
added while it ran, found by the ledger's request number `n`), the summary cachesim's analyze.py
computed over that slice (passed in as a dict: this module never imports analyze.py), and the
bot's own CallRecords and wall time. Token costs are in cachesim's unit (one uncached input token),
the chart's split is in dollars at the bot's price table (reviewbot.llm.usage).

The critical path is the least wall time the review's calls allow with perfect scheduling: the
warm-up (the first call's time to first token) is serial, then every specialist runs its turns
back to back in parallel with the others, then the summary. A specialist's span is the sum of its
calls' durations; the leader's span leaves out the warm-up already counted. Calls whose label has
no turn ("prewarm", keep-alive pings) are off the path unless they are the first call.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reviewbot.llm.usage import CallRecord, Usage, naive_cost, price_multiplier, price_of, usage_from_api
from reviewbot.llm.usage import factor as call_factor

SUMMARY_AGENT = "summary"


@dataclass(frozen=True)
class Targets:
    """The issue's targets, as ratios. cost/oracle, races and the avoidable prefix are checked on every PR
    (the issue says "on every PR"); the others on every PR with at least `min_files` changed files, as
    the earlier targets were. The totals row checks them all on the sums."""

    min_files: int = 3
    max_cost_over_oracle: float = 1.01            # billed input cost over the ideal-caching bound
    max_races: int = 0
    max_avoidable_share: float = 0.05             # of the shared prefix, a leaner layout would not carry
    max_effort_ratio: float = 0.60                # dollars with the effort policy over uniform default effort
    max_summary_share: float = 0.25               # the summary agent's share of the wall time
    max_wall_over_critical: float = 1.05
    max_batch_over_interactive: float = 0.55      # dollars in batch mode over the interactive review's


@dataclass(frozen=True)
class Check:
    """One target on one row: its value (None: not computable, a miss) against its limit."""

    name: str
    value: float | None
    limit: float
    ok: bool


DEFAULT_TARGETS = Targets()


@dataclass(frozen=True)
class CostSplit:
    """Where the money goes, in dollars: uncached input, cache writes, cache reads, output."""

    uncached: float = 0.0
    write: float = 0.0
    read: float = 0.0
    output: float = 0.0

    @property
    def total(self) -> float:
        return self.uncached + self.write + self.read + self.output

    def __add__(self, other: CostSplit) -> CostSplit:
        return CostSplit(self.uncached + other.uncached, self.write + other.write, self.read + other.read,
                         self.output + other.output)


@dataclass(frozen=True)
class Row:
    entry: str
    files: int
    additions: int
    deletions: int
    calls: int                      # successful API calls, warm-up included
    prewarm: int                    # of which max_tokens=0 pre-warms
    errors: int                     # failed requests (retried or not)
    input_tokens: int               # uncached input
    write_tokens: int
    read_tokens: int
    output_tokens: int
    actual: float                   # billed input cost (cachesim units)
    oracle: float | None            # ideal-caching bound for the same requests (given the earlier PRs);
                                    # None against the real API (no ledger to compute it from)
    naive: float                    # the same requests with no caching
    races: int
    wall: float                     # seconds, the whole review
    critical: float                 # seconds, see the module docstring
    split: CostSplit
    no_cache_usd: float             # the same requests and output, no caching, in dollars
    agents: tuple[tuple[str, str], ...] = ()      # (specialist, status) as the review reported them
    complete: bool = True
    naive_bot: float | None = None                # billed input cost of the bot's naive mode, same PR
    naive_bot_usd: float | None = None
    oracle_alone: float | None = None             # the bound for this PR's requests on an empty cache
    prefix_tokens: int = 0                        # the shared prefix as cachesim counted it (first call)
    related_tokens: int = 0                       # of which the related-code section
    reads: int = 0                                # read_file calls the agents made themselves
    searches: int = 0                             # search_code calls
    thinking_tokens: int = 0                      # of output_tokens, the thinking (billed as output)
    summary_seconds: float = 0.0                  # wall time of the summary agent's calls
    prefix_chars: int = 0                         # the shared prefix as sent (reviewbot.bench.prefix)
    avoidable_chars: int = 0                      # of which a leaner layout would not carry
    batch_usd: float | None = None                # the same PR reviewed in batch mode, in dollars
    batch_output_usd: float | None = None         # of which output
    batch_calls: int = 0
    uniform_usd: float | None = None              # the same PR at uniform default effort, in dollars
    uniform_output_usd: float | None = None       # of which output
    uniform_thinking_tokens: int = 0

    @property
    def effort_ratio(self) -> float | None:
        """Dollars with the effort policy over the same review at uniform default effort."""
        return None if self.uniform_usd is None else _ratio(self.split.total, self.uniform_usd)

    @property
    def avoidable_tokens(self) -> int:
        """The avoidable share (measured in characters) applied to cachesim's count of the prefix."""
        return round((self.avoidable_share or 0.0) * self.prefix_tokens)

    @property
    def batch_over_interactive(self) -> float | None:
        return None if self.batch_usd is None else _ratio(self.batch_usd, self.split.total)

    @property
    def summary_share(self) -> float | None:
        """The summary agent's share of the review's wall time (0 when it was not called)."""
        return self.summary_seconds / self.wall if self.wall > 0 else None

    @property
    def avoidable_share(self) -> float | None:
        return self.avoidable_chars / self.prefix_chars if self.prefix_chars else None

    @property
    def prefix_growth(self) -> float | None:
        """The related-code section over the rest of the shared prefix."""
        rest = self.prefix_tokens - self.related_tokens
        return self.related_tokens / rest if rest > 0 else None

    @property
    def hit_rate(self) -> float | None:
        total = self.input_tokens + self.write_tokens + self.read_tokens
        return self.read_tokens / total if total else None

    @property
    def cost_over_oracle(self) -> float | None:
        return _ratio(self.actual, self.oracle)

    @property
    def cost_over_naive(self) -> float | None:
        return _ratio(self.actual, self.naive)

    @property
    def wall_over_critical(self) -> float | None:
        return _ratio(self.wall, self.critical)

    @property
    def vs_naive_bot(self) -> float | None:
        return None if self.naive_bot is None else _ratio(self.actual, self.naive_bot)

    def ran(self) -> tuple[str, ...]:
        return tuple(name for name, status in self.agents if status in ("ok", "failed"))


def _ratio(a: float, b: float | None) -> float | None:
    return a / b if b else None


def entries_after(ledger: Iterable[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The ledger entries a review added: those numbered after `n` (the last number seen before it)."""
    return [e for e in ledger if e["n"] > n]


def last_n(ledger: Iterable[dict[str, Any]]) -> int:
    return max((e["n"] for e in ledger), default=0)


def marginal_oracle(oracle_cost: Callable[[list[dict[str, Any]]], float], before: Sequence[dict[str, Any]],
                    entries: Sequence[dict[str, Any]]) -> float:
    """The ideal-caching bound of `entries` when the requests `before` them shared the same cache:
    oracle(before + entries) - oracle(before). It credits what a PR could read from the PRs before it
    (the tools + system prefix), as its actual cost does, and the marginals add up to the bound of
    the whole run. With a cache reset between PRs the bound of the slice alone is the right one."""
    return oracle_cost([*before, *entries]) - oracle_cost(list(before)) if before else oracle_cost(list(entries))


def critical_path(calls: Sequence[CallRecord]) -> float:
    """Warm-up TTFT + the slowest specialist's back-to-back calls + the summary's (module docstring)."""
    if not calls:
        return 0.0
    first = min(calls, key=lambda c: c.started)
    warm = first.first_byte - first.started
    spans: dict[str, float] = {}
    summary = 0.0
    for c in calls:
        agent, turn, _ = c.label.partition("#")
        if not turn:
            continue                                   # pre-warm or keep-alive: only the first counts
        took = c.ended - c.started - (warm if c is first else 0.0)
        if agent == SUMMARY_AGENT:
            summary += took
        else:
            spans[agent] = spans.get(agent, 0.0) + took
    return warm + max(spans.values(), default=0.0) + summary


def _split(u: Usage, model: str, factor: float) -> CostSplit:
    p = price_of(model, u.total_input)
    return CostSplit(factor * u.input_tokens * p.input / 1e6,
                     factor * (u.cache_write_5m * p.write_5m + u.cache_write_1h * p.write_1h) / 1e6,
                     factor * u.cache_read * p.read / 1e6, factor * u.output_tokens * p.output / 1e6)


def cost_split(entries: Iterable[dict[str, Any]]) -> tuple[CostSplit, float]:
    """Dollar split of the successful entries, and what the work requests would cost with no caching
    (every input token at the input price; pre-warms left out, as cachesim's naive cost does). A batch
    item (`batch: true` in the ledger) is priced at the Batch API's factor."""
    split, no_cache = CostSplit(), 0.0
    for e in entries:
        if e.get("status") != 200:
            continue
        u, factor = usage_from_api(e["usage"]), price_multiplier(1.0, bool(e.get("batch")))
        split += _split(u, e["model"], factor)
        if e.get("max_tokens") != 0:
            no_cache += factor * naive_cost(u, e["model"])
    return split, no_cache


def calls_split(calls: Iterable[CallRecord]) -> tuple[CostSplit, float]:
    """The same from the bot's own call records (the real API: no ledger)."""
    split, no_cache = CostSplit(), 0.0
    for c in calls:
        if not c.billed:
            continue
        split += _split(c.usage, c.model, call_factor(c))
        if c.label != "prewarm" and c.label != "keep-warm":
            no_cache += call_factor(c) * naive_cost(c.usage, c.model)
    return split, no_cache


def calls_summary(calls: Sequence[CallRecord]) -> dict[str, Any]:
    """The keys of cachesim's analyze.summarize() that a row uses, from the bot's call records: the
    token counts, and the input cost in units of one uncached input token (writes 1.25x / 2x, reads at
    the model's read price); no oracle, and no race count (the real API tells neither)."""
    units = 0.0
    for c in calls:
        p, u = price_of(c.model, c.usage.total_input), c.usage
        units += call_factor(c) * (u.input_tokens + 1.25 * u.cache_write_5m + 2 * u.cache_write_1h
                             + u.cache_read * p.read / p.input)
    total = sum((c.usage for c in calls), Usage())
    return {"requests": len(calls), "prewarm": sum(1 for c in calls if c.label in ("prewarm", "keep-warm")),
            "errors": {}, "input_tokens": total.input_tokens, "cache_creation_input_tokens": total.cache_write,
            "cache_read_input_tokens": total.cache_read, "output_tokens": total.output_tokens, "actual": units,
            "oracle": None, "naive": float(total.total_input), "races": 0}


def prefix_tokens(entries: Sequence[dict[str, Any]], related: bool) -> tuple[int, int]:
    """The shared prefix's tokens as cachesim counted them in the first work call (up to its last
    breakpoint), and those of its last block, the related-code section, when there is one."""
    for e in entries:
        bps = e.get("breakpoints") or []
        if e.get("status") == 200 and e.get("max_tokens") != 0 and bps:
            last = max(bps, key=lambda b: b["pos"])
            tokens = e.get("block_tokens") or []
            return int(last["prefix_tokens"]), int(tokens[last["pos"]]) if related and last["pos"] < len(tokens) else 0
    return 0, 0


def make_row(entry: str, files: int, additions: int, deletions: int, entries: Sequence[dict[str, Any]],
             summary: dict[str, Any],
             calls: Sequence[CallRecord], wall: float, agents: Iterable[tuple[str, str]] = (),
             complete: bool = True, oracle: float | None = None, related_tokens: int = 0,
             tool_calls: Iterable[tuple[str, str, int]] = (), prefix_chars: int = 0,
             avoidable_chars: int = 0, dollars: tuple[CostSplit, float] | None = None) -> Row:
    """One PR: `entries` is its ledger slice and `summary` analyze.summarize(entries). `oracle`, when
    given, replaces the summary's bound (see marginal_oracle); the summary's is kept as oracle_alone.
    Against the real API there is no ledger: `summary` is calls_summary(calls), `dollars` calls_split."""
    split, no_cache = cost_split(entries) if dollars is None else dollars
    prefix = prefix_tokens(entries, related_tokens > 0)
    return Row(entry=entry, files=files, additions=additions, deletions=deletions,
               calls=summary["requests"], prewarm=summary["prewarm"], errors=sum(summary["errors"].values()),
               input_tokens=summary["input_tokens"], write_tokens=summary["cache_creation_input_tokens"],
               read_tokens=summary["cache_read_input_tokens"], output_tokens=summary["output_tokens"],
               actual=summary["actual"], oracle=summary["oracle"] if oracle is None else oracle,
               naive=summary["naive"], races=summary["races"], wall=wall, critical=critical_path(calls),
               split=split, no_cache_usd=no_cache, agents=tuple(agents), complete=complete,
               oracle_alone=summary["oracle"], prefix_tokens=prefix[0], related_tokens=prefix[1],
               reads=sum(n for _, tool, n in tool_calls if tool == "read_file"),
               searches=sum(n for _, tool, n in tool_calls if tool == "search_code"),
               thinking_tokens=sum(c.usage.thinking_tokens for c in calls),
               summary_seconds=summary_seconds(calls), prefix_chars=prefix_chars, avoidable_chars=avoidable_chars)


def summary_seconds(calls: Sequence[CallRecord]) -> float:
    """From the summary agent's first call's start to its last call's end (0: it was not called)."""
    mine = [c for c in calls if c.label.split("#", 1)[0] == SUMMARY_AGENT]
    return max(c.ended for c in mine) - min(c.started for c in mine) if mine else 0.0


def with_naive_bot(row: Row, entries: Sequence[dict[str, Any]], summary: dict[str, Any]) -> Row:
    """The row with the cost of the bot's naive mode on the same PR (its ledger slice and summary)."""
    split, _ = cost_split(entries)
    return replace(row, naive_bot=summary["actual"], naive_bot_usd=split.total)


def with_batch(row: Row, entries: Sequence[dict[str, Any]]) -> Row:
    """The row with the dollars of the same PR reviewed in batch mode (its batch items' ledger entries)."""
    split, _ = cost_split(entries)
    return replace(row, batch_usd=split.total, batch_output_usd=split.output,
                   batch_calls=sum(1 for e in entries if e.get("status") == 200))


def with_batch_calls(row: Row, calls: Sequence[CallRecord]) -> Row:
    """The same from the bot's call records of the batch-mode review (the real API)."""
    split, _ = calls_split(calls)
    return replace(row, batch_usd=split.total, batch_output_usd=split.output, batch_calls=len(calls))


def with_uniform(row: Row, entries: Sequence[dict[str, Any]]) -> Row:
    """The row with the dollars and thinking of the same PR reviewed at uniform default effort (the
    effort policy off), from that review's ledger slice."""
    split, _ = cost_split(entries)
    thinking = sum(int((e.get("thinking") or {}).get("tokens") or 0) for e in entries if e.get("status") == 200)
    return replace(row, uniform_usd=split.total, uniform_output_usd=split.output, uniform_thinking_tokens=thinking)


def with_uniform_calls(row: Row, calls: Sequence[CallRecord]) -> Row:
    """The same from the bot's call records of the uniform-effort review (the real API)."""
    split, _ = calls_split(calls)
    return replace(row, uniform_usd=split.total, uniform_output_usd=split.output,
                   uniform_thinking_tokens=sum(c.usage.thinking_tokens for c in calls if c.billed))


def totals(rows: Sequence[Row]) -> Row:
    """Sums over the rows; the ratios of the sums (not the mean of the ratios)."""
    def add(attr: str) -> Any:
        return sum(getattr(r, attr) for r in rows)

    def some(attr: str) -> Any:
        return None if not rows or any(getattr(r, attr) is None for r in rows) else add(attr)
    naive_bot = None if not rows or any(r.naive_bot is None for r in rows) else add("naive_bot")
    naive_bot_usd = None if naive_bot is None else add("naive_bot_usd")
    return Row(entry="total", files=add("files"), additions=add("additions"), deletions=add("deletions"),
               calls=add("calls"), prewarm=add("prewarm"), errors=add("errors"), input_tokens=add("input_tokens"),
               write_tokens=add("write_tokens"), read_tokens=add("read_tokens"),
               output_tokens=add("output_tokens"), actual=add("actual"), oracle=some("oracle"), naive=add("naive"),
               races=add("races"), wall=add("wall"), critical=add("critical"),
               split=sum((r.split for r in rows), CostSplit()), no_cache_usd=add("no_cache_usd"),
               complete=all(r.complete for r in rows), naive_bot=naive_bot, naive_bot_usd=naive_bot_usd,
               oracle_alone=add("oracle_alone") if all(r.oracle_alone is not None for r in rows) else None,
               prefix_tokens=add("prefix_tokens"), related_tokens=add("related_tokens"), reads=add("reads"),
               searches=add("searches"), thinking_tokens=add("thinking_tokens"),
               summary_seconds=add("summary_seconds"), prefix_chars=add("prefix_chars"),
               avoidable_chars=add("avoidable_chars"), batch_usd=some("batch_usd"),
               batch_output_usd=some("batch_output_usd"), batch_calls=add("batch_calls"),
               uniform_usd=some("uniform_usd"), uniform_output_usd=some("uniform_output_usd"),
               uniform_thinking_tokens=add("uniform_thinking_tokens"))


EVERY_PR = ("cost/oracle", "races", "avoidable")      # checked on every PR, whatever its size
TARGET_NAMES = ("cost/oracle", "races", "avoidable", "effort", "summary", "wall/crit", "batch/int")


def checks(row: Row, targets: Targets = DEFAULT_TARGETS, whole_run: bool = False) -> tuple[Check, ...]:
    """The targets that apply to the row, each with its value and limit. cost/oracle, races and the
    avoidable prefix apply to every PR; the others from `targets.min_files` changed files (or on the
    totals: `whole_run`). A target whose figure was not measured is left out: cost/oracle and races
    without an oracle (the real API), effort without the uniform-effort pass, batch/int without the
    batch pass. A ratio with a zero denominator is a miss, never a pass."""
    sized = whole_run or row.files >= targets.min_files
    out: list[Check] = []

    def at_most(name: str, value: float | None, limit: float) -> None:
        out.append(Check(name, value, limit, value is not None and value <= limit))
    if row.oracle is not None:
        at_most("cost/oracle", row.cost_over_oracle, targets.max_cost_over_oracle)
        at_most("races", float(row.races), targets.max_races)
    at_most("avoidable", row.avoidable_share, targets.max_avoidable_share)
    if sized:
        if row.uniform_usd is not None:
            at_most("effort", row.effort_ratio, targets.max_effort_ratio)
        at_most("summary", row.summary_share, targets.max_summary_share)
        at_most("wall/crit", row.wall_over_critical, targets.max_wall_over_critical)
        if row.batch_usd is not None:
            at_most("batch/int", row.batch_over_interactive, targets.max_batch_over_interactive)
    return tuple(out)


def failures(row: Row, targets: Targets = DEFAULT_TARGETS, whole_run: bool = False) -> tuple[str, ...]:
    """The names of the targets the row misses (checks)."""
    return tuple(c.name for c in checks(row, targets, whole_run) if not c.ok)
