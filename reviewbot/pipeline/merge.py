"""Merging the specialists' findings: a deterministic first pass, then the summary agent's verdict.

The first pass is pure and order-independent (the specialists finish in any order): findings are
placed on the diff, those under the confidence floor are set aside (counted, not lost), exact
repeats (same place and same title or category) collapse into one that remembers who else flagged
it, and the rest are numbered F1..Fn in a stable order for the summary agent. The agent's answer
(rejected ids, duplicate ids, new findings) is then applied; ids it invents are ignored and noted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from reviewbot.domain.change import Change
from reviewbot.domain.enums import SEVERITY_RANK
from reviewbot.domain.enums import Verdict as VerdictName
from reviewbot.domain.findings import Finding, Submission, _norm, place
from reviewbot.domain.specialists import NAMES


@dataclass(frozen=True)
class FirstPass:
    findings: tuple[Finding, ...]          # numbered F1.. in this order
    low_confidence: tuple[Finding, ...]
    merged: int                            # how many exact repeats were folded


def _rank(f: Finding) -> tuple[int, float, int, str]:
    order = NAMES.index(f.specialist) if f.specialist in NAMES else len(NAMES)
    return (SEVERITY_RANK.get(f.severity, 9), -f.confidence, order, f.title)


def first_pass(submissions: dict[str, Submission], change: Change, min_confidence: float) -> FirstPass:
    placed = [place(f, change) for name in sorted(submissions) for f in submissions[name].findings]
    low = tuple(sorted((f for f in placed if f.confidence < min_confidence), key=Finding.sort_key))
    keep = [f for f in placed if f.confidence >= min_confidence]
    clusters: list[list[Finding]] = []
    index: dict[tuple[str | None, int | None, str, str], int] = {}
    for f in keep:
        keys = ((f.path, f.line, "t", _norm(f.title)), (f.path, f.line, "c", _norm(f.category)))
        at = next((index[k] for k in keys if k in index), None)
        if at is None:
            at = len(clusters)
            clusters.append([])
        clusters[at].append(f)
        for k in keys:
            index.setdefault(k, at)
    out = []
    for members in clusters:
        best, *rest = sorted(members, key=_rank)
        others = tuple(sorted({m.specialist for m in rest} - {best.specialist}))
        out.append(replace(best, also_flagged_by=others) if others else best)
    out.sort(key=Finding.sort_key)
    return FirstPass(tuple(out), low, len(keep) - len(out))


def findings_for_summary(findings: tuple[Finding, ...]) -> str:
    """One JSON object per line, with ids F1..Fn: the summary agent's view of the findings."""
    lines = []
    for i, f in enumerate(findings, start=1):
        view = {k: v for k, v in f.to_json().items() if k != "fingerprint"}      # Finding.to_json: one form
        lines.append(json.dumps({"id": f"F{i}", **view}, ensure_ascii=False))
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]                       # final, ranked
    rejected: tuple[tuple[Finding, str], ...]           # (finding, reason)
    duplicates: int
    notes: tuple[str, ...]


# Findings of deterministic scanners (committed secrets, manipulation attempts): never rejected or
# folded by the summary agent, whatever it is told by the change it reads.
DETERMINISTIC = frozenset({"secret-scan", "injection-scan"})


def apply_summary(numbered: tuple[Finding, ...], submission: Submission | None, change: Change,
                  min_confidence: float) -> Verdict:
    """Drop what the summary rejected, fold its duplicates, add its own findings; rank the rest."""
    if submission is None:
        return Verdict(numbered, (), 0, ())
    by_id = {f"F{i}": f for i, f in enumerate(numbered, start=1)}
    notes, unknown = [], []
    rejected: dict[str, str] = {}
    kept = []
    for fid, reason in submission.rejected:
        if fid in by_id and by_id[fid].specialist in DETERMINISTIC:
            kept.append(fid)             # a scanner's finding is not the model's to drop
            continue
        (rejected.__setitem__(fid, reason) if fid in by_id else unknown.append(fid))
    if kept:
        notes.append(f"the summary tried to reject deterministic scanner finding(s) {', '.join(kept[:10])}; kept")
    folded: dict[str, str] = {}
    for fid, same_as in submission.duplicates:
        if fid in by_id and by_id[fid].specialist in DETERMINISTIC:
            continue
        if fid in by_id and same_as in by_id and fid != same_as and fid not in rejected:
            folded[fid] = same_as
        else:
            unknown.append(fid)
    if unknown:
        notes.append(f"summary referred to unknown or invalid finding ids, ignored: {', '.join(unknown[:10])}")
    extra: dict[str, set[str]] = {}
    for fid, target in folded.items():
        while target in folded and folded[target] != fid:
            target = folded[target]
        extra.setdefault(target, set()).add(by_id[fid].specialist)
    final = []
    for fid, f in by_id.items():
        if fid in rejected or fid in folded:
            continue
        flagged = tuple(sorted((set(f.also_flagged_by) | extra.get(fid, set())) - {f.specialist}))
        final.append(replace(f, also_flagged_by=flagged))
    for f in submission.findings:
        g = place(f, change)
        if g.confidence >= min_confidence:
            final.append(g)
    final.sort(key=Finding.sort_key)
    return Verdict(tuple(final), tuple((by_id[i], r) for i, r in rejected.items()), len(folded), tuple(notes))


def derive_verdict(findings: tuple[Finding, ...]) -> VerdictName:
    """The verdict the severities imply, for when the summary agent gave none."""
    worst = min((SEVERITY_RANK.get(f.severity, 9) for f in findings), default=None)
    if worst is None:
        return VerdictName.NO_ISSUES
    return {0: VerdictName.BLOCKING_ISSUES, 1: VerdictName.NEEDS_CHANGES}.get(worst, VerdictName.MINOR_ISSUES)
