"""The scoring arithmetic of `reviewbot eval`, against examples computed by hand.

Each example says what the figures are and why; the code must agree to the last digit.
"""
from __future__ import annotations

import pytest

from reviewbot.eval.score import Candidate, Counts, Link, f1, max_matching, score_pr, total, usable


def cand(i: int, specialist: str = "correctness", severity: str = "medium", also: tuple[str, ...] = ()) -> Candidate:
    return Candidate(i, specialist, severity, "app.py", i, f"finding {i}", "because", also)


def link(g: int, c: int, kind: str = "match") -> Link:
    return Link(g, c, kind, "same problem")


# Example A: 3 golden comments (high, medium, low) and 4 findings.
#   g1 <- c1 (match) and c2 (match): c2 says the same thing again, a duplicate
#   g2 <- c3 (partial)
#   c4 matches nothing: noise;  g3 is missed
GOLDEN_A = ("high", "medium", "low")
CANDS_A = (cand(1, "security", "high"), cand(2, "correctness", "medium", also=("security",)),
           cand(3, "performance", "low"), cand(4, "security", "nit"))
LINKS_A = (link(1, 1), link(1, 2), link(2, 3, "partial"))


def test_matches_partial_matches_and_duplicates_counted_once():
    s = score_pr(GOLDEN_A, CANDS_A, LINKS_A)
    # found g1, g2 (partial counts, as the benchmark counts it): recall 2/3
    # paired one to one: c1-g1, c3-g2 -> TP 2; c2 linked to g1 only, already taken -> duplicate; c4 -> FP
    # precision 2 / (2 + 1) = 2/3; F1 = 2/3
    assert s.counts == Counts(golden=3, found=2, partial=1, candidates=4, tp=2, duplicates=1, fp=1)
    assert s.counts.recall == pytest.approx(2 / 3)
    assert s.counts.precision == pytest.approx(2 / 3)
    assert s.counts.f1 == pytest.approx(2 / 3)
    assert s.candidate_status == ("tp", "duplicate", "tp", "fp")
    assert s.golden_found_by == ((1, 2), (3,), ())


def test_without_partial_credit_a_partial_match_is_a_miss():
    s = score_pr(GOLDEN_A, CANDS_A, LINKS_A, partial_credit=False)
    # found g1 only: recall 1/3; c1 TP, c2 duplicate, c3 and c4 FP: precision 1/3; F1 1/3
    assert s.counts == Counts(golden=3, found=1, partial=0, candidates=4, tp=1, duplicates=1, fp=2)
    assert (s.counts.precision, s.counts.recall, s.counts.f1) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


def test_per_severity():
    s = score_pr(GOLDEN_A, CANDS_A, LINKS_A)
    g = s.by_golden_severity
    assert (g["high"].golden, g["high"].found, g["high"].recall) == (1, 1, 1.0)
    assert (g["medium"].found, g["medium"].partial) == (1, 1)
    assert (g["low"].golden, g["low"].found, g["low"].recall) == (1, 0, 0.0)
    assert (g["critical"].golden, g["critical"].recall) == (0, None)
    c = s.by_candidate_severity
    assert (c["high"].tp, c["medium"].duplicates, c["low"].tp, c["nit"].fp) == (1, 1, 1, 1)
    assert c["medium"].precision is None               # a duplicate is neither true nor false positive
    assert c["nit"].precision == 0.0


def test_per_specialist_recall_noise_and_what_each_adds():
    s = score_pr(GOLDEN_A, CANDS_A, LINKS_A)
    sec, cor, perf = (s.by_specialist[n] for n in ("security", "correctness", "performance"))
    # security raised c1, c4 and (with correctness) c2: 3 findings, c1 and c2 matched, c4 noise; found g1.
    # g1 is also found by c2, which correctness raised too: nothing unique. Without the findings only
    # security raised (c1, c4): c2 and c3 remain, found g1 and g2, 2 TP, no FP: precision 1, recall 2/3.
    assert (sec.candidates, sec.matched, sec.noise, sec.found, sec.unique) == (3, 2, 1, 1, 0)
    assert sec.precision == pytest.approx(2 / 3) and sec.recall == pytest.approx(1 / 3)
    assert (sec.without.precision, sec.without.recall) == pytest.approx((1.0, 2 / 3))
    # correctness shares its only finding with security: removing nothing changes nothing
    assert (cor.candidates, cor.matched, cor.found, cor.unique) == (1, 1, 1, 0)
    assert cor.without == s.counts
    # performance alone found g2: unique 1; without c3, found g1 only, TP c1, dup c2, FP c4
    assert (perf.candidates, perf.found, perf.unique) == (1, 1, 1)
    assert perf.without == Counts(golden=3, found=1, partial=0, candidates=3, tp=1, duplicates=1, fp=1)
    assert s.counts.recall - perf.without.recall == pytest.approx(perf.unique / 3)


def test_reviewers_that_ran_but_found_nothing_are_reported():
    s = score_pr(GOLDEN_A, CANDS_A, LINKS_A, specialists=("documentation",))
    doc = s.by_specialist["documentation"]
    assert (doc.candidates, doc.found, doc.recall) == (0, 0, 0.0)
    assert doc.without == s.counts


def test_one_finding_that_covers_two_golden_comments():
    # c1 describes g1 and g2: both are found (recall 1), but c1 is one true positive (precision 1/1)
    s = score_pr(("high", "high"), (cand(1),), (link(1, 1), link(2, 1)))
    assert s.counts == Counts(golden=2, found=2, partial=0, candidates=1, tp=1, duplicates=0, fp=0)
    assert (s.counts.precision, s.counts.recall, s.counts.f1) == (1.0, 1.0, 1.0)
    # with c2 also on g1, the maximum pairing is c1-g2, c2-g1: two true positives, no duplicate
    s2 = score_pr(("high", "high"), (cand(1), cand(2)), (link(1, 1), link(2, 1), link(1, 2)))
    assert (s2.counts.tp, s2.counts.duplicates) == (2, 0)
    assert max_matching(usable((link(1, 1), link(2, 1), link(1, 2)), 2, 2)) == {1: 2, 2: 1}


def test_a_full_match_wins_over_a_partial_one_and_bad_links_are_ignored():
    links = (link(1, 1, "partial"), link(1, 1), link(3, 1), link(1, 9), link(1, 1, "maybe"))
    assert usable(links, 2, 1) == (link(1, 1),)
    s = score_pr(("low", "low"), (cand(1),), links)
    assert (s.counts.found, s.counts.partial, s.counts.tp) == (1, 0, 1)


def test_nothing_said_and_nothing_to_find():
    silent = score_pr(("high", "low"), (), ())
    # no findings: precision undefined (null), recall 0, F1 0
    assert (silent.counts.precision, silent.counts.recall, silent.counts.f1) == (None, 0.0, 0.0)
    noisy = score_pr(("high",), (cand(1), cand(2)), ())
    assert (noisy.counts.precision, noisy.counts.recall, noisy.counts.f1) == (0.0, 0.0, 0.0)


def test_f1_is_the_harmonic_mean():
    assert f1(0.5, 0.25) == pytest.approx(1 / 3)          # 2 * 0.125 / 0.75
    assert f1(0.47, 0.63) == pytest.approx(0.5384, abs=1e-4)   # the benchmark's leaders, about F1 0.54
    assert f1(None, None) is None and f1(0.0, 0.0) == 0.0


def test_totals_are_micro_averages():
    a = score_pr(GOLDEN_A, CANDS_A, LINKS_A)                       # TP 2, FP 1, found 2 of 3
    b = score_pr(("high",), (cand(1, "security"), cand(2), cand(3)), ())  # TP 0, FP 3, found 0 of 1
    t = total([a, b])
    # precision 2 / (2 + 4) = 1/3 (the mean of the PRs' precisions would be 1/3 too only by chance: 2/3 and 0)
    # recall 2 / 4 = 0.5 (mean of 2/3 and 0 would be 1/3); F1 = 2 * (1/3 * 1/2) / (5/6) = 0.4
    assert t.counts == Counts(golden=4, found=2, partial=1, candidates=7, tp=2, duplicates=1, fp=4)
    assert (t.counts.precision, t.counts.recall, t.counts.f1) == pytest.approx((1 / 3, 0.5, 0.4))
    assert t.by_golden_severity["high"].golden == 2 and t.by_golden_severity["high"].found == 1
    # performance raised nothing on b: its recall is 1 of the 4 golden comments, its counterfactual on
    # b is b's own score
    perf = t.by_specialist["performance"]
    assert (perf.golden, perf.found, perf.recall) == (4, 1, 0.25)
    assert perf.without == a.by_specialist["performance"].without + b.counts
    sec = t.by_specialist["security"]
    assert (sec.candidates, sec.noise) == (4, 2)
