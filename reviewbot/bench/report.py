"""The benchmark's outputs as text: the markdown tables (stdout and bench.md) and bench.json. Pure.

Three tables, one row per PR plus the totals (ratios of sums), then the routing:

Cost (dollars at the model's prices, reviewbot.llm.usage):
  files, +/-      size of the PR
  calls           API calls, warm-up included
  in $, out $     the review's input (uncached, cache writes, cache reads) and output (thinking included)
  cost $          their sum: the dollars of one review
  thinking        thinking tokens (part of the output)
  uniform $       the same review with every agent at the model's default effort (the effort policy off)
  effort          cost $ over uniform $
  batch $         the same PR reviewed in batch mode (Message Batches), every PR in one run
  batch/int       batch $ over cost $
  cost/oracle     billed input cost over cachesim's ideal-caching bound for the same requests
  races           calls that missed a cache entry still being written
  hit rate        cache read / (read + write + uncached input)
  vs naive bot    billed input cost over that of the bot's naive mode (only when that pass ran)

Time and prefix:
  wall s, crit s  the review's wall time and its critical path (reviewbot.bench.metrics)
  wall/crit       their ratio
  summary s       the summary agent's span (first call's start to last call's end; 0: not called)
  summary         summary s over wall s
  prefix tok      the shared prefix's tokens (cachesim's count of the first call's cached part)
  avoidable       the part of the prefix a leaner layout would not carry (reviewbot.bench.prefix), in
                  tokens (the share, measured in characters, applied to prefix tok) and as a share
  related         of the prefix, the related-code section, and its size over the rest of the prefix
  reads, searches read_file and search_code calls the reviewers made themselves
  ran             specialists that ran, of those configured

Targets: one column per target (ok, MISS, or - where it does not apply or was not measured) and
the verdict; the totals row checks every target on the sums.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from reviewbot.bench.metrics import (
    DEFAULT_TARGETS,
    EVERY_PR,
    TARGET_NAMES,
    Row,
    Targets,
    checks,
    failures,
    totals,
)

SCHEMA_VERSION = 2
COST_COLUMNS = ("PR", "files", "+/-", "calls", "in $", "out $", "cost $", "thinking", "uniform $", "effort",
                "batch $", "batch/int", "cost/oracle", "races", "hit rate")
NAIVE_COLUMN = "vs naive bot"
TIME_COLUMNS = ("PR", "wall s", "crit s", "wall/crit", "summary s", "summary", "prefix tok", "avoidable tok",
                "avoidable", "related", "reads", "searches", "ran")
LEFT = {"PR", "+/-", "ran", "not run", "verdict"}


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def limits(targets: Targets) -> dict[str, str]:
    """Each target's limit as the targets table's header shows it."""
    return {"cost/oracle": f"cost/oracle <= {targets.max_cost_over_oracle:.2f}",
            "races": f"races <= {targets.max_races}",
            "avoidable": f"avoidable <= {targets.max_avoidable_share:.0%}",
            "effort": f"effort <= {targets.max_effort_ratio:.2f}",
            "summary": f"summary <= {targets.max_summary_share:.0%}",
            "wall/crit": f"wall/crit <= {targets.max_wall_over_critical:.2f}",
            "batch/int": f"batch/int <= {targets.max_batch_over_interactive:.2f}"}


def verdict(row: Row, targets: Targets, whole_run: bool = False) -> str:
    missed = failures(row, targets, whole_run)
    return "PASS" if not missed else "FAIL: " + ", ".join(missed)


def _cost_cells(row: Row, naive: bool) -> tuple[str, ...]:
    cells = (row.entry, str(row.files), f"+{row.additions}/-{row.deletions}",
             str(row.calls) + (f" ({row.errors} err)" if row.errors else ""),
             f"{row.split.total - row.split.output:.4f}", f"{row.split.output:.4f}", f"{row.split.total:.4f}",
             str(row.thinking_tokens), _num(row.uniform_usd, ".4f"), _num(row.effort_ratio, ".3f"),
             _num(row.batch_usd, ".4f"), _num(row.batch_over_interactive, ".3f"),
             _num(row.cost_over_oracle, ".3f"), "n/a" if row.oracle is None else str(row.races),
             _num(row.hit_rate, ".1%"))
    return cells + ((_num(row.vs_naive_bot, ".3f"),) if naive else ())


def _time_cells(row: Row) -> tuple[str, ...]:
    ran = f"{len(row.ran())}/{len(row.agents)}" if row.agents else ""
    return (row.entry, f"{row.wall:.1f}", f"{row.critical:.1f}", _num(row.wall_over_critical, ".3f"),
            f"{row.summary_seconds:.1f}", _num(row.summary_share, ".1%"), str(row.prefix_tokens),
            str(row.avoidable_tokens), _num(row.avoidable_share, ".1%"),
            f"{row.related_tokens} (+{_num(row.prefix_growth, '.0%')})", str(row.reads), str(row.searches),
            ran + ("" if row.complete else " partial"))


def _target_cells(row: Row, targets: Targets, whole_run: bool = False) -> tuple[str, ...]:
    got = {c.name: c for c in checks(row, targets, whole_run)}
    marks = tuple("-" if name not in got else "ok" if got[name].ok else "MISS" for name in TARGET_NAMES)
    return (row.entry, *marks, verdict(row, targets, whole_run))


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]

    def pad(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if h in LEFT else c.rjust(w)
                                 for c, w, h in zip(cells, widths, header, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) if h in LEFT else ("-" * (w + 1) + ":")
                          for w, h in zip(widths, header, strict=True)) + "|"
    return "\n".join([pad(header), rule, *(pad(r) for r in body)])


def render_markdown(rows: Sequence[Row], targets: Targets = DEFAULT_TARGETS, title: str = "") -> str:
    """The cost, time and targets tables with a totals row each, then the routing of every PR."""
    total = totals(rows)
    naive = bool(rows) and all(r.naive_bot is not None for r in rows)
    cost_header = COST_COLUMNS + ((NAIVE_COLUMN,) if naive else ())
    passed = sum(1 for r in rows if not failures(r, targets))
    heads = limits(targets)
    target_header = ("PR", *(heads[n] for n in TARGET_NAMES), "verdict")
    routing = [(r.entry, ", ".join(r.ran()) or "none",
                ", ".join(f"{name} ({status})" for name, status in r.agents if name not in r.ran()) or "-")
               for r in rows]
    parts = ([f"## {title}", ""] if title else []) + [
        "### Cost per review", "",
        _table(cost_header, [*(_cost_cells(r, naive) for r in rows), _cost_cells(total, naive)]), "",
        "### Time and the shared prefix", "",
        _table(TIME_COLUMNS, [*(_time_cells(r) for r in rows), _time_cells(total)]), "",
        "### Targets", "",
        _table(target_header, [*(_target_cells(r, targets) for r in rows), _target_cells(total, targets, True)]),
        "",
        f"{passed} of {len(rows)} PRs meet every target that applies to them; the totals row checks every "
        f"target on the sums. {', '.join(EVERY_PR)} apply to every PR, the others to PRs with at least "
        f"{targets.min_files} changed files; '-' where a target does not apply or its pass did not run "
        "(no oracle nor race count against the real API). Dollars at the bot's price table; cost/oracle in "
        "cachesim's unit (one uncached input token).", "",
        "Routing (specialists that ran; the others with their status):", "",
        _table(("PR", "ran", "not run"), routing), ""]
    return "\n".join(parts)


def row_json(row: Row, targets: Targets, whole_run: bool = False) -> dict[str, Any]:
    d = asdict(row)
    d["agents"] = [{"name": n, "status": s} for n, s in row.agents]
    d["split"] = {k: round(v, 6) for k, v in d["split"].items()}
    for key in ("no_cache_usd", "naive_bot_usd", "batch_usd", "batch_output_usd"):
        d[key] = None if d[key] is None else round(d[key], 6)
    d["wall"], d["critical"] = round(row.wall, 3), round(row.critical, 3)
    d.update(cost_usd=round(row.split.total, 6),
             hit_rate=_round(row.hit_rate), cost_over_oracle=_round(row.cost_over_oracle),
             cost_over_naive=_round(row.cost_over_naive), wall_over_critical=_round(row.wall_over_critical),
             vs_naive_bot=_round(row.vs_naive_bot), prefix_growth=_round(row.prefix_growth),
             batch_over_interactive=_round(row.batch_over_interactive),
             input_usd=round(row.split.total - row.split.output, 6), output_usd=round(row.split.output, 6),
             summary_seconds=round(row.summary_seconds, 3), summary_share=_round(row.summary_share),
             avoidable_share=_round(row.avoidable_share), avoidable_tokens=row.avoidable_tokens,
             effort_ratio=_round(row.effort_ratio))
    for key in ("uniform_usd", "uniform_output_usd"):
        d[key] = None if d[key] is None else round(d[key], 6)
    got = checks(row, targets, whole_run)
    d["targets"] = {"pass": all(c.ok for c in got), "missed": [c.name for c in got if not c.ok],
                    "checked": {c.name: {"value": _round(c.value), "limit": c.limit, "ok": c.ok} for c in got}}
    return d


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def to_json(rows: Sequence[Row], targets: Targets = DEFAULT_TARGETS,
            settings: dict[str, Any] | None = None) -> dict[str, Any]:
    total = row_json(totals(rows), targets, whole_run=True)
    return {"schema_version": SCHEMA_VERSION, "settings": settings or {}, "targets": asdict(targets),
            "rows": [row_json(r, targets) for r in rows], "totals": total}
