"""The benchmark's outputs as text: the markdown table (stdout and bench.md) and bench.json. Pure.

Columns, one row per PR plus the totals (ratios of sums):
  files, +/-      size of the PR
  calls           API calls, warm-up included
  hit rate        cache read / (read + write + uncached input)
  cost/oracle     billed input cost over cachesim's ideal-caching bound for the same requests
  cost/naive      billed input cost over the same requests billed with no caching
  races           calls that missed a cache entry still being written
  wall/crit       wall time over the critical path (see reviewbot.bench.metrics)
  vs naive bot    billed input cost over that of the bot's naive mode on the same PR
  batch $         dollars of the same PR reviewed in batch mode (Message Batches, 50%), all PRs in one run
  batch/int       batch $ over cost $ (the interactive review's dollars)
  prefix tok      the shared prefix's tokens (cachesim's count of the first call's cached part)
  related         of which the related-code section, and its size over the rest of the prefix
  reads, searches read_file and search_code calls the reviewers made themselves
  ran             specialists that ran, of those configured
  targets         PASS, or the targets missed; "-" below the size the targets apply to
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from reviewbot.bench.metrics import DEFAULT_TARGETS, Row, Targets, failures, totals

SCHEMA_VERSION = 1
COLUMNS = ("PR", "files", "+/-", "calls", "hit rate", "cost/oracle", "cost/naive", "races", "wall/crit",
           "wall s", "summary", "cost $", "in $", "out $", "thinking", "batch $", "batch/int", "vs naive bot",
           "prefix tok", "avoidable", "related", "reads", "searches", "ran", "targets")
RIGHT = {"files", "calls", "hit rate", "cost/oracle", "cost/naive", "races", "wall/crit", "wall s", "summary",
         "cost $", "in $", "out $", "thinking", "batch $", "batch/int", "vs naive bot", "prefix tok", "avoidable",
         "related", "reads", "searches"}


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def verdict(row: Row, targets: Targets) -> str:
    missed = failures(row, targets)
    if missed is None:
        return "-"
    return "PASS" if not missed else "FAIL: " + ", ".join(missed)


def _cells(row: Row, target_cell: str) -> tuple[str, ...]:
    ran = f"{len(row.ran())}/{len(row.agents)}" if row.agents else ""
    return (row.entry, str(row.files), f"+{row.additions}/-{row.deletions}",
            str(row.calls) + (f" ({row.errors} err)" if row.errors else ""),
            _num(row.hit_rate, ".1%"), _num(row.cost_over_oracle, ".3f"), _num(row.cost_over_naive, ".3f"),
            str(row.races), _num(row.wall_over_critical, ".2f"), f"{row.wall:.1f}", _num(row.summary_share, ".0%"),
            f"{row.split.total:.4f}", f"{row.split.total - row.split.output:.4f}", f"{row.split.output:.4f}",
            str(row.thinking_tokens), _num(row.batch_usd, ".4f"), _num(row.batch_over_interactive, ".3f"),
            _num(row.vs_naive_bot, ".3f"), str(row.prefix_tokens),
            _num(row.avoidable_share, ".1%"),
            f"{row.related_tokens} (+{_num(row.prefix_growth, '.0%')})", str(row.reads), str(row.searches),
            ran + ("" if row.complete else " partial"), target_cell)


def _table(header: Sequence[str], body: Sequence[Sequence[str]], right: frozenset[str] | set[str] = frozenset()) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]

    def pad(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if h in right else c.ljust(w)
                                 for c, w, h in zip(cells, widths, header, strict=True)) + " |"
    rule = "|" + "|".join(("-" * (w + 1) + ":") if h in right else "-" * (w + 2)
                          for w, h in zip(widths, header, strict=True)) + "|"
    return "\n".join([pad(header), rule, *(pad(r) for r in body)])


def render_markdown(rows: Sequence[Row], targets: Targets = DEFAULT_TARGETS, title: str = "") -> str:
    """The results table with a totals row, the routing of every PR, and the targets' legend."""
    checked = [failures(r, targets) for r in rows]
    passed = sum(1 for f in checked if f == ())
    applicable = sum(1 for f in checked if f is not None)
    body = [_cells(r, verdict(r, targets)) for r in rows]
    body.append(_cells(totals(rows), f"{passed}/{applicable} PASS"))
    routing = [(r.entry, ", ".join(r.ran()) or "none",
                ", ".join(f"{name} ({status})" for name, status in r.agents if name not in r.ran()) or "-")
               for r in rows]
    parts = ([f"## {title}", ""] if title else []) + [
             _table(COLUMNS, body, RIGHT), "",
             f"Targets, on every PR with at least {targets.min_files} changed files: hit rate >= "
             f"{targets.min_hit_rate:.2f}, cost/oracle <= {targets.max_cost_over_oracle:.2f}, races <= "
             f"{targets.max_races}, wall/crit <= {targets.max_wall_over_critical:.2f}, cost/naive <= "
             f"{targets.max_cost_over_naive:.2f}, batch/int <= {targets.max_batch_over_interactive:.2f} (when the "
             "batch mode ran). Costs in cachesim's unit (one uncached input token) except cost $ and batch $ "
             "(input and output at the bot's price table). Against the real API there is no oracle (n/a) and "
             "no race count.", "",
             "Routing (specialists that ran; the others with their status):", "",
             _table(("PR", "ran", "not run"), routing), ""]
    return "\n".join(parts)


def row_json(row: Row, targets: Targets) -> dict[str, Any]:
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
             avoidable_share=_round(row.avoidable_share))
    missed = failures(row, targets)
    d["targets"] = None if missed is None else {"pass": not missed, "missed": list(missed)}
    return d


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def to_json(rows: Sequence[Row], targets: Targets = DEFAULT_TARGETS,
            settings: dict[str, Any] | None = None) -> dict[str, Any]:
    total = row_json(totals(rows), targets)
    total.pop("targets")
    return {"schema_version": SCHEMA_VERSION, "settings": settings or {}, "targets": asdict(targets),
            "rows": [row_json(r, targets) for r in rows], "totals": total}
