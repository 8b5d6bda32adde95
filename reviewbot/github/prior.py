"""What is on the PR already: the bot's summary, the runs it committed, its threads.

`read_prior` reads what GitHub lists (reviews, review comments, GraphQL review threads) into one
value. Only the bot's own posts count, and every review it posts carries its run's marker, so a run
whose summary edit never happened still counts as done (its head reviewed, its findings posted,
its cost spent), and two reviews of one raced run are told apart (the later is a duplicate). Pure.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from reviewbot.domain.enums import SEVERITY_RANK
from reviewbot.github.api import PostedComment, PostedReview, ReviewThread
from reviewbot.github.bodies import _VERDICT, BodyFinding, CostState, _body_findings
from reviewbot.github.markers import (
    FINDING,
    FIXED,
    LATEST,
    OVERVIEW,
    REOPENED,
    SUMMARY,
    UPDATE,
    _section,
    read_markers,
)


@dataclass(frozen=True)
class Thread:
    """One of the bot's inline findings and what happened to it."""

    comment: PostedComment
    fingerprint: str
    severity: str
    title: str
    replies: tuple[PostedComment, ...]
    fixed: bool                               # the bot already replied "Fixed in ..."
    node: str = ""                            # the GraphQL thread id ("" when unknown)
    resolved: bool = False
    resolved_by: str = ""
    reopened: tuple[str, ...] = ()            # severities the bot reopened the thread at
    specialist: str = ""

    @property
    def answered(self) -> bool:
        """Someone other than the bot replied."""
        return any(r.author != self.comment.author for r in self.replies)


@dataclass(frozen=True)
class Record:
    """What one run committed: a review the bot posted (its `update` marker), or the summary's state
    when the summary edit was the run's only write. `prev` is the reviewed head the run started
    from (None for the first review): two runs with the same head and prev raced each other."""

    review: PostedReview
    head: str
    prev: str | None
    micro_usd: int = 0
    verdict: str | None = None
    settle: tuple[int, ...] = ()               # the bot's comments whose finding this run found fixed
    reopen: tuple[tuple[int, str], ...] = ()   # (comment, severity): human-resolved, now worse
    findings: tuple[BodyFinding, ...] = ()
    latest: str | None = None


@dataclass(frozen=True)
class Prior:
    summary: PostedReview | None = None
    state: dict[str, Any] = field(default_factory=dict)
    overview: str | None = None
    body_findings: tuple[BodyFinding, ...] = ()
    threads: tuple[Thread, ...] = ()
    pending: tuple[Record, ...] = ()           # updates posted after the summary's last edit (not folded in)
    folded: tuple[Record, ...] = ()            # updates already folded into the summary
    duplicates: tuple[PostedReview, ...] = ()  # the bot's reviews that repeat an earlier one of the same run
    dup_comments: tuple[PostedComment, ...] = ()

    @property
    def reviewed(self) -> str | None:
        """The last head a run committed: the newest update's, else the summary's."""
        if self.pending:
            return self.pending[-1].head
        head = self.state.get("head")
        return head if isinstance(head, str) and head else None

    @property
    def posted(self) -> frozenset[str]:
        return frozenset([t.fingerprint for t in self.threads] + [b.fingerprint for b in self.all_body_findings]
                         + [fp for fp, _ in self.omitted])

    @property
    def all_body_findings(self) -> tuple[BodyFinding, ...]:
        """The summary's body findings and those of updates not folded into it yet, each once."""
        seen, out = set(), []
        for b in self.body_findings + tuple(b for r in self.pending for b in r.findings):
            if b.fingerprint not in seen:
                seen.add(b.fingerprint)
                out.append(b)
        return tuple(out)

    @property
    def omitted(self) -> tuple[tuple[str, str], ...]:
        """(fingerprint, severity) of findings left out of the summary for size."""
        items = self.state.get("omitted") or []
        return tuple((i[0], i[1]) for i in items if isinstance(i, list) and len(i) == 2
                     and all(isinstance(x, str) for x in i))

    @property
    def cost(self) -> CostState:
        """Runs and dollars so far: the summary's totals plus the updates not folded in yet."""
        c = CostState.of(self.state)
        return CostState(c.runs + len(self.pending), c.micro_usd + sum(r.micro_usd for r in self.pending))

    @property
    def verdict(self) -> str | None:
        for r in reversed(self.pending):
            if r.verdict:
                return r.verdict
        v = self.state.get("verdict")
        return v if isinstance(v, str) else None

    @property
    def to_settle(self) -> tuple[int, ...]:
        """Comments the last committed run found fixed (its cleanup may not have finished)."""
        ids = [i for r in self.pending for i in r.settle] + [i for i in self.state.get("settle") or ()
                                                             if isinstance(i, int)]
        return tuple(dict.fromkeys(ids))

    @property
    def to_reopen(self) -> tuple[tuple[int, str], ...]:
        items = [x for r in self.pending for x in r.reopen] + [
            (x[0], x[1]) for x in self.state.get("reopen") or ()
            if isinstance(x, list) and len(x) == 2 and isinstance(x[0], int) and x[1] in SEVERITY_RANK]
        return tuple(dict.fromkeys(items))

    @property
    def upto(self) -> int:
        v = self.state.get("upto")
        return v if isinstance(v, int) else 0


def _ints(items: Iterable[object] | None) -> tuple[int, ...]:
    return tuple(i for i in items or () if isinstance(i, int) and not isinstance(i, bool))


def _record(r: PostedReview) -> Record | None:
    found = read_markers(r.body, UPDATE)
    if not found or not isinstance(found[-1].get("head"), str):
        return None
    d = found[-1]
    prev = d.get("prev") if isinstance(d.get("prev"), str) else None
    micro: int = d["micro_usd"] if isinstance(d.get("micro_usd"), int) and d["micro_usd"] >= 0 else 0
    reopen = tuple((x[0], x[1]) for x in d.get("reopen") or () if isinstance(x, list) and len(x) == 2
                   and isinstance(x[0], int) and x[1] in SEVERITY_RANK)
    return Record(r, d["head"], prev, micro, d.get("verdict") if d.get("verdict") in _VERDICT else None,
                  _ints(d.get("settle")), reopen, _body_findings(r.body), _section(r.body, LATEST))


def read_prior(reviews: tuple[PostedReview, ...], comments: tuple[PostedComment, ...], login: str,
               threads: tuple[ReviewThread, ...] = ()) -> Prior:
    """The bot's summary, its state, the updates posted since its last edit, and its inline findings,
    from what GitHub lists. Only the bot's own posts count: anyone can write a marker in a comment.

    Every review the bot posts carries its run's marker, so a run whose summary edit never happened
    (a 5xx, a cancelled job) is still known: its head counts as reviewed, its findings as posted, its
    cost as spent, and the next run folds it into the summary. Of two reviews of one run (two jobs
    racing on the same head from the same prev), the first counts; the other is a duplicate."""
    # bodies edited in GitHub's web editor come back with CRLF line ends
    reviews = tuple(replace(r, body=r.body.replace("\r\n", "\n")) for r in sorted(reviews, key=lambda r: r.id))
    comments = tuple(replace(c, body=c.body.replace("\r\n", "\n")) for c in comments)
    mine = [r for r in reviews if r.author == login]
    summaries = [r for r in mine if read_markers(r.body, SUMMARY)]
    summary = summaries[0] if summaries else None
    state = read_markers(summary.body, SUMMARY)[-1] if summary else {}
    upto: int = state["upto"] if isinstance(state.get("upto"), int) else 0
    seen: set[tuple[str, str | None]] = {(summary.commit_id, None)} if summary else set()
    duplicates = [r for r in summaries[1:]]
    pending: list[Record] = []
    folded: list[Record] = []
    for r in mine:
        if summary is not None and r.id <= summary.id:
            continue
        rec = _record(r)
        if rec is None or r in duplicates:
            continue
        key = (r.commit_id or rec.head, rec.prev)
        if key in seen:
            duplicates.append(r)
            continue
        seen.add(key)
        (pending if r.id > upto else folded).append(rec)
    dup_ids = {r.id for r in duplicates}
    by_root = {t.root: t for t in threads}
    replies: dict[int, list[PostedComment]] = {}
    for c in comments:
        if c.in_reply_to is not None:
            replies.setdefault(c.in_reply_to, []).append(c)
    out, dup_comments = [], []
    for c in comments:
        if c.author != login or c.in_reply_to is not None:
            continue
        found = read_markers(c.body, FINDING)
        if not found or not isinstance(found[-1].get("fp"), str):
            continue
        if c.review_id is not None and c.review_id in dup_ids:
            dup_comments.append(c)
            continue
        d = found[-1]
        rs = tuple(sorted(replies.get(c.id, ()), key=lambda r: r.id))
        fixed = any(r.author == login and read_markers(r.body, FIXED) for r in rs)
        reopened = tuple(str(m.get("sev")) for r in rs if r.author == login for m in read_markers(r.body, REOPENED))
        t = by_root.get(c.id)
        out.append(Thread(c, d["fp"], str(d["sev"]) if d.get("sev") in SEVERITY_RANK else "low",
                          str(d.get("t") or ""), rs, fixed, t.id if t else "", bool(t and t.resolved),
                          t.resolved_by if t else "", reopened, str(d.get("sp") or "")))
    return Prior(summary, state, _section(summary.body, OVERVIEW) if summary else None,
                 _body_findings(summary.body) if summary else (), tuple(out), tuple(pending), tuple(folded),
                 tuple(duplicates), tuple(dup_comments))


def prior_lines(prior: Prior) -> tuple[str, ...]:
    """One line per finding already posted and still open, for the reviewers' shared context."""
    lines = [f"{t.comment.path}:{t.comment.line} [{t.severity}] {t.title}" for t in prior.threads
             if not t.fixed and not t.comment.outdated]
    lines += [f"{b.path or '(whole change)'}{':' + str(b.line) if b.line else ''} [{b.severity}] {b.title}"
              for b in prior.all_body_findings]
    return tuple(sorted(set(lines)))


@dataclass(frozen=True)
class Scope:
    kind: str                  # "full", "incremental" or "skip"
    since: str | None = None   # the last reviewed commit


def decide_scope(prior: Prior, head_sha: str) -> Scope:
    if prior.reviewed is None:
        return Scope("full")
    if prior.reviewed == head_sha:
        return Scope("skip", head_sha)
    return Scope("incremental", prior.reviewed)


def without(prior: Prior, suppressed: frozenset[str]) -> Prior:
    """The prior without the findings suppressed on this PR (their threads are neither settled nor
    reopened, and they count as open nowhere)."""
    if not suppressed:
        return prior

    def keep(items: tuple[BodyFinding, ...]) -> tuple[BodyFinding, ...]:
        return tuple(b for b in items if b.fingerprint not in suppressed)
    return replace(prior, threads=tuple(t for t in prior.threads if t.fingerprint not in suppressed),
                   body_findings=keep(prior.body_findings),
                   pending=tuple(replace(r, findings=keep(r.findings)) for r in prior.pending),
                   folded=tuple(replace(r, findings=keep(r.findings)) for r in prior.folded))
