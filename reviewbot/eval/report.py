"""The evaluation's results as JSON (`--format json`) and as markdown tables. Pure.

JSON (`schema_version: 1`): the run's settings, then one entry per cell with its overall
precision, recall and F1, the dollars spent reviewing and judging (apart), the figures per golden
severity, per finding severity and per specialist, and every PR with its own figures, its
`golden_comments` (and which findings found them), its `findings` (the judge's candidates, each a
true positive, a duplicate or noise) and the judge's `matches` with their reasons. A ratio with a
zero denominator is null.
"""
from __future__ import annotations

from typing import Any

from reviewbot.domain.enums import SEVERITIES as REVIEW_SEVERITIES
from reviewbot.eval.golden import SEVERITIES
from reviewbot.eval.run import CellResult, PRResult
from reviewbot.eval.score import Counts, SpecialistCounts

SCHEMA_VERSION = 1


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def counts_json(c: Counts) -> dict[str, Any]:
    return {"golden": c.golden, "found": c.found, "partial": c.partial, "candidates": c.candidates, "tp": c.tp,
            "duplicates": c.duplicates, "fp": c.fp, "precision": _r(c.precision), "recall": _r(c.recall),
            "f1": _r(c.f1)}


def specialist_json(s: SpecialistCounts, overall: Counts) -> dict[str, Any]:
    return {"candidates": s.candidates, "matched": s.matched, "noise": s.noise, "precision": _r(s.precision),
            "found": s.found, "recall": _r(s.recall), "unique": s.unique,
            "without": {"precision": _r(s.without.precision), "recall": _r(s.without.recall), "f1": _r(s.without.f1)},
            "adds": {"recall": _delta(overall.recall, s.without.recall),
                     "precision": _delta(overall.precision, s.without.precision)}}


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)


def pr_json(p: PRResult) -> dict[str, Any]:
    s = p.score
    out = {"url": p.golden.id, "title": p.golden.title, "complete": p.complete, "error": p.error,
           "reused": {"review": p.reused_review, "judgment": p.reused_judgment},
           "specialists": list(p.specialists),
           "cost": {"review_usd": round(p.review_cost, 6), "judge_usd": round(p.judge_cost, 6),
                    "review_calls": len(p.review_calls), "judge_calls": len(p.judge_calls)},
           "notes": list(p.notes)}
    out.update(counts_json(s.counts) if s else {"precision": None, "recall": None, "f1": None})
    out["golden_comments"] = [{"id": i, "severity": g.severity, "comment": g.comment,
                      "found_by": list(s.golden_found_by[i - 1]) if s else []}
                     for i, g in enumerate(p.golden.comments, 1)]
    out["findings"] = [{"id": c.id, "specialist": c.specialist, "also_flagged_by": list(c.also_flagged_by),
                          "severity": c.severity, "path": c.path, "line": c.line, "title": c.title,
                          "status": s.candidate_status[c.id - 1] if s else None} for c in p.candidates]
    out["matches"] = [{"golden": x.golden, "candidate": x.candidate, "kind": x.kind, "reason": x.reason}
                      for x in p.links]
    return out


def cell_json(c: CellResult) -> dict[str, Any]:
    t = c.totals
    return {"label": c.cell.label, **c.cell.settings(),
            "prs_scored": sum(1 for p in c.prs if p.score is not None), "prs_failed": len(c.failed),
            "overall": counts_json(t.counts),
            "cost": {"review_usd": round(c.review_cost, 6), "judge_usd": round(c.judge_cost, 6),
                     "total_usd": round(c.review_cost + c.judge_cost, 6)},
            "per_golden_severity": {k: counts_json(v) for k, v in t.by_golden_severity.items()},
            "per_finding_severity": {k: counts_json(v) for k, v in t.by_candidate_severity.items()},
            "per_specialist": {k: specialist_json(v, t.counts) for k, v in t.by_specialist.items()},
            "prs": [pr_json(p) for p in c.prs]}


def to_json(cells: list[CellResult], golden: str, judge_model: str, partial_credit: bool) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "golden_set": golden,
            "judge": {"model": judge_model, "partial_credit": partial_credit, "duplicates": "counted once"},
            "cells": [cell_json(c) for c in cells]}


# ------------------------------------------------------------------------------------ markdown


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _usd(x: float) -> str:
    return f"{x:.4f}"


def _table(head: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> list[str]:
    align = ["---" if i in left or i - len(head) in left else "---:" for i in range(len(head))]
    return ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"] + ["| " + " | ".join(r) + " |"
                                                                                  for r in rows]


def _esc(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def to_markdown(cells: list[CellResult], golden: str, judge_model: str, partial_credit: bool) -> str:
    n = len(cells[0].prs) if cells else 0
    lines = [f"# reviewbot eval: {golden} ({n} PR{'s' if n != 1 else ''})", "",
             (f"Judge `{judge_model}`; partial matches {'count' if partial_credit else 'do not count'}; duplicates "
              "counted once. Precision = TP / (TP + FP), recall = found / golden, totals summed over the PRs."), ""]
    lines += ["## Overall", ""]
    lines += _table(["cell", "PRs", "golden", "found", "findings", "TP", "dup", "FP", "precision", "recall", "F1",
                     "review $", "judge $"],
                    [[_esc(c.cell.label), f"{sum(1 for p in c.prs if p.score)}/{len(c.prs)}", str(t.golden),
                      str(t.found), str(t.candidates), str(t.tp), str(t.duplicates), str(t.fp), _pct(t.precision),
                      _pct(t.recall), _pct(t.f1), _usd(c.review_cost), _usd(c.judge_cost)]
                     for c in cells for t in [c.totals.counts]])
    for c in cells:
        title = "" if len(cells) == 1 else f": {_esc(c.cell.label)}"
        t = c.totals
        lines += ["", f"## Per PR{title}", ""]
        rows = []
        for p in c.prs:
            s = p.score.counts if p.score else None
            note = p.error or ("; ".join(p.notes) if p.notes else "") or ("reused" if p.reused_review and
                                                                           p.reused_judgment else "")
            rows.append([_esc(p.golden.id)] + ([str(s.golden), str(s.found), str(s.candidates), str(s.tp),
                                                str(s.duplicates), str(s.fp), _pct(s.precision), _pct(s.recall),
                                                _pct(s.f1)] if s else [str(len(p.golden.comments))] + ["–"] * 8)
                        + [_usd(p.review_cost), _usd(p.judge_cost), _esc(note)[:160]])
        lines += _table(["PR", "golden", "found", "findings", "TP", "dup", "FP", "precision", "recall", "F1",
                         "review $", "judge $", "note"], rows, left=(0, -1))
        lines += ["", f"## Per severity{title}", ""]
        lines += _table(["golden severity", "golden", "found", "partial", "recall"],
                        [[sev, str(g.golden), str(g.found), str(g.partial), _pct(g.recall)]
                         for sev in SEVERITIES for g in [t.by_golden_severity[sev]]])
        lines += [""]
        lines += _table(["finding severity", "findings", "TP", "dup", "FP", "precision"],
                        [[sev, str(k.candidates), str(k.tp), str(k.duplicates), str(k.fp), _pct(k.precision)]
                         for sev in REVIEW_SEVERITIES for k in [t.by_candidate_severity[sev]] if k.candidates])
        lines += ["", f"## Per specialist{title}", ""]
        lines += _table(["specialist", "findings", "matched", "noise", "precision", "found", "recall", "unique",
                         "recall without", "precision without"],
                        [[name, str(s.candidates), str(s.matched), str(s.noise), _pct(s.precision), str(s.found),
                          _pct(s.recall), str(s.unique), _pct(s.without.recall), _pct(s.without.precision)]
                         for name, s in t.by_specialist.items()])
    for c in cells:
        title = "" if len(cells) == 1 else f": {_esc(c.cell.label)}"
        lines += ["", f"## Golden comments{title}", ""]
        for p in c.prs:
            lines.append(f"- {_esc(p.golden.id)}" + (f": {_esc(p.error)}" if p.error else ""))
            by_id = {x.id: x for x in p.candidates}
            for i, g in enumerate(p.golden.comments, 1):
                links = [x for x in p.links if x.golden == i] if p.score else []
                verdict = "; ".join(f"{x.kind} by #{x.candidate} {_esc(by_id[x.candidate].title)[:80]} "
                                    f"({by_id[x.candidate].specialist}): {_esc(x.reason)}"
                                    for x in links if x.candidate in by_id) or ("missed" if p.score else "not judged")
                lines.append(f"  - [{g.severity}] {_esc(g.comment)[:200]} — {verdict}")
    lines += ["", ("Per specialist: found = golden comments matched by at least one of its findings; unique: "
                   "found only by this reviewer's own findings; recall/precision without: the whole score with "
                   "the findings only this reviewer raised removed."), ""]
    return "\n".join(lines)
