"""Scoring: precision, recall and F1 from the judge's matches. Pure arithmetic, no I/O.

Definitions (the benchmark's, README "Measuring quality"):

- A golden comment is **found** when at least one candidate (a finding of the review) is judged to
  describe the same underlying issue. A **partial** match, where the candidate catches part of the
  real problem, counts as found, as the benchmark's judge counts it ("even a partial overlap counts
  if the bot caught part of the real problem"); `partial_credit=False` gives the stricter score.
  recall = found / golden comments.
- **Duplicates are counted once.** Candidates and golden comments are paired one to one (a maximum
  matching over the judge's links, full matches tried first): a paired candidate is a true
  positive; a candidate whose golden comments were all taken by other candidates is a duplicate,
  neither true nor false positive; a candidate linked to nothing is a false positive (noise).
  precision = true positives / (true positives + false positives). One candidate that covers two
  golden comments finds both (recall) but is one true positive (precision).
- F1 = 2PR / (P + R); 0 when nothing was found. Totals are micro-averages: counts are summed over
  PRs, then divided, as the benchmark's aggregate table does.

Counts are additive, so per-PR scores sum to the totals, per severity and per specialist alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from pydantic.dataclasses import dataclass as pydantic_dataclass

from reviewbot.domain.enums import SEVERITIES as REVIEW_SEVERITIES
from reviewbot.eval.golden import SEVERITIES

MATCH, PARTIAL = "match", "partial"
KINDS = (MATCH, PARTIAL)


@pydantic_dataclass(frozen=True)
class Candidate:
    """One finding of the review, as the judge sees it (ids are 1-based, in the review's order).
    A pydantic dataclass: also the saved form of a review's findings (reviewbot.eval.store)."""

    id: int
    specialist: str
    severity: str
    path: str
    line: int
    title: str
    explanation: str
    also_flagged_by: tuple[str, ...] = ()

    @property
    def specialists(self) -> tuple[str, ...]:
        """Every reviewer that raised it: credited with it in the per-specialist figures."""
        return (self.specialist,) + tuple(s for s in self.also_flagged_by if s != self.specialist)


@dataclass(frozen=True)
class Link:
    """The judge's verdict that candidate `candidate` describes golden comment `golden`."""

    golden: int
    candidate: int
    kind: str              # MATCH or PARTIAL
    reason: str


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def f1(precision: float | None, recall: float | None) -> float | None:
    """None when there is nothing to recall; 0 when nothing was found (or nothing was said)."""
    if recall is None:
        return None
    if precision is None or precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Counts:
    golden: int = 0          # golden comments
    found: int = 0           # of them, matched by at least one candidate
    partial: int = 0         # of the found, matched only partially
    candidates: int = 0
    tp: int = 0              # candidates paired one to one with a golden comment
    duplicates: int = 0      # linked, but their golden comments went to other candidates
    fp: int = 0              # linked to nothing: noise

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)))

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.found, self.golden)

    @property
    def f1(self) -> float | None:
        return f1(self.precision, self.recall)


@dataclass(frozen=True)
class SpecialistCounts:
    """What one reviewer contributed: its own candidates, the golden comments they found, and the
    whole score recomputed without the candidates only it raised (`without`)."""

    candidates: int = 0
    matched: int = 0         # its candidates linked to a golden comment
    noise: int = 0           # its candidates linked to nothing
    found: int = 0           # golden comments its candidates found
    unique: int = 0          # ... that only its own findings found (recall - recall without = unique / golden)
    golden: int = 0
    without: Counts = field(default_factory=Counts)

    def __add__(self, other: SpecialistCounts) -> SpecialistCounts:
        return SpecialistCounts(self.candidates + other.candidates, self.matched + other.matched,
                                self.noise + other.noise, self.found + other.found, self.unique + other.unique,
                                self.golden + other.golden, self.without + other.without)

    @property
    def precision(self) -> float | None:
        return ratio(self.matched, self.candidates)

    @property
    def recall(self) -> float | None:
        return ratio(self.found, self.golden)


@dataclass(frozen=True)
class PRScore:
    counts: Counts
    by_golden_severity: dict[str, Counts]         # golden side: golden, found, partial
    by_candidate_severity: dict[str, Counts]      # candidate side: candidates, tp, duplicates, fp
    by_specialist: dict[str, SpecialistCounts]
    golden_found_by: tuple[tuple[int, ...], ...]  # per golden comment (in order): candidate ids linked
    candidate_status: tuple[str, ...]             # per candidate: "tp", "duplicate" or "fp"


def usable(links: tuple[Link, ...], n_golden: int, n_candidates: int, partial_credit: bool = True) -> tuple[Link, ...]:
    """The links that count: ids in range, each pair once (a full match wins over a partial one),
    partial ones only with partial credit."""
    best: dict[tuple[int, int], Link] = {}
    for link in links:
        if not (1 <= link.golden <= n_golden and 1 <= link.candidate <= n_candidates) or link.kind not in KINDS:
            continue
        if link.kind == PARTIAL and not partial_credit:
            continue
        key = (link.golden, link.candidate)
        if key not in best or (best[key].kind == PARTIAL and link.kind == MATCH):
            best[key] = link
    return tuple(best[k] for k in sorted(best))


def max_matching(links: tuple[Link, ...]) -> dict[int, int]:
    """A maximum one-to-one pairing candidate -> golden over the links (Kuhn's augmenting paths).

    Deterministic: candidates in id order, each trying its full matches before its partial ones,
    lower golden ids first."""
    options: dict[int, list[int]] = {}
    for link in sorted(links, key=lambda x: (x.candidate, x.kind != MATCH, x.golden)):
        options.setdefault(link.candidate, []).append(link.golden)
    owner: dict[int, int] = {}                    # golden -> candidate

    def augment(c: int, seen: set[int]) -> bool:
        for g in options[c]:
            if g in seen:
                continue
            seen.add(g)
            if g not in owner or augment(owner[g], seen):
                owner[g] = c
                return True
        return False

    for c in sorted(options):
        augment(c, set())
    return {c: g for g, c in owner.items()}


def _counts(golden: tuple[str, ...], candidates: tuple[Candidate, ...], links: tuple[Link, ...]) -> tuple[
        Counts, tuple[tuple[int, ...], ...], tuple[str, ...], dict[int, str]]:
    """Counts for this subset of candidates (links already restricted to them); also each golden's
    linked candidates, each candidate's status, and each found golden's best kind."""
    ids = [c.id for c in candidates]
    links = tuple(x for x in links if x.candidate in set(ids))
    paired = max_matching(links)
    linked = {x.candidate for x in links}
    status = tuple("tp" if c in paired else "duplicate" if c in linked else "fp" for c in ids)
    found_by = tuple(tuple(sorted({x.candidate for x in links if x.golden == g})) for g in range(1, len(golden) + 1))
    kind: dict[int, str] = {}
    for x in links:
        kind[x.golden] = MATCH if x.kind == MATCH or kind.get(x.golden) == MATCH else PARTIAL
    counts = Counts(golden=len(golden), found=len(kind), partial=sum(1 for k in kind.values() if k == PARTIAL),
                    candidates=len(ids), tp=status.count("tp"), duplicates=status.count("duplicate"),
                    fp=status.count("fp"))
    return counts, found_by, status, kind


def score_pr(golden: tuple[str, ...], candidates: tuple[Candidate, ...], links: tuple[Link, ...],
             partial_credit: bool = True, specialists: tuple[str, ...] = ()) -> PRScore:
    """Score one PR. `golden` holds the golden comments' severities, in order (golden id i is
    golden[i-1]); `specialists` are the reviewers to report even when they raised nothing."""
    links = usable(links, len(golden), len(candidates), partial_credit)
    counts, found_by, status, kind = _counts(golden, candidates, links)

    by_gsev = {}
    for sev in SEVERITIES:
        gids = [i for i, s in enumerate(golden, 1) if s == sev]
        by_gsev[sev] = Counts(golden=len(gids), found=sum(1 for g in gids if g in kind),
                              partial=sum(1 for g in gids if kind.get(g) == PARTIAL))
    by_csev: dict[str, Counts] = {}
    for sev in REVIEW_SEVERITIES:
        st = [s for c, s in zip(candidates, status, strict=True) if c.severity == sev]
        by_csev[sev] = Counts(candidates=len(st), tp=st.count("tp"), duplicates=st.count("duplicate"),
                              fp=st.count("fp"))

    names = tuple(dict.fromkeys(specialists + tuple(s for c in candidates for s in c.specialists)))
    linked_goldens = {c.id: {x.golden for x in links if x.candidate == c.id} for c in candidates}
    by_spec = {}
    for name in names:
        mine = [c for c in candidates if name in c.specialists]
        kept = tuple(c for c in candidates if c.specialists != (name,))      # what the others raised too
        found = set().union(*(linked_goldens[c.id] for c in mine)) if mine else set()
        found_elsewhere = set().union(*(linked_goldens[c.id] for c in kept)) if kept else set()
        without, *_ = _counts(golden, kept, links)
        by_spec[name] = SpecialistCounts(
            candidates=len(mine), matched=sum(1 for c in mine if linked_goldens[c.id]),
            noise=sum(1 for c in mine if not linked_goldens[c.id]), found=len(found),
            unique=len(found - found_elsewhere), golden=len(golden), without=without)
    return PRScore(counts, by_gsev, by_csev, by_spec, found_by, status)


@dataclass(frozen=True)
class Totals:
    counts: Counts
    by_golden_severity: dict[str, Counts]
    by_candidate_severity: dict[str, Counts]
    by_specialist: dict[str, SpecialistCounts]


def total(scores: list[PRScore]) -> Totals:
    """Micro-averaged totals: every count summed over the PRs."""
    counts = sum((s.counts for s in scores), Counts())
    gsev = {sev: sum((s.by_golden_severity[sev] for s in scores), Counts()) for sev in SEVERITIES}
    csev: dict[str, Counts] = {sev: sum((s.by_candidate_severity[sev] for s in scores), Counts())
                               for sev in REVIEW_SEVERITIES}
    names = list(dict.fromkeys(n for s in scores for n in s.by_specialist))
    spec = {}
    for n in names:
        acc = SpecialistCounts()
        for s in scores:
            # a PR where the reviewer raised nothing still counts in its recall and its counterfactual
            acc = acc + s.by_specialist.get(n, SpecialistCounts(golden=s.counts.golden, without=s.counts))
        spec[n] = acc
    return Totals(counts, gsev, csev, spec)
