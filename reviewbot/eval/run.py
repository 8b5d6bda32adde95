"""The evaluation run: for every cell and every golden PR, review (or reuse the saved review),
judge (or reuse the saved judgment), score.

The review goes through reviewbot.pipeline.review.run_review with the Transport it is given; the judge
through the same Transport's `send`. Reading a PR is a function passed in (reviewbot.eval.source
in the command, anything in tests), called only when a review has to be made, so a finished
evaluation re-renders offline. A PR whose review or judgment fails is reported with its error and
left out of the scores; the others go on. A refused key stops everything.
"""
from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reviewbot import __version__
from reviewbot.config import Config
from reviewbot.domain.change import Change
from reviewbot.domain.events import (
    EvalCell,
    EvalFailed,
    EvalJudging,
    EvalReviewed,
    EvalReviewing,
    EvalReviewReused,
    EvalScored,
    OnEvent,
    ignore,
)
from reviewbot.domain.findings import Finding
from reviewbot.errors import APIError, CredentialsError, InputError
from reviewbot.eval.golden import Golden
from reviewbot.eval.judge import build_request, judge_pr, pr_text
from reviewbot.eval.matrix import Cell
from reviewbot.eval.score import Candidate, Link, PRScore, Totals, score_pr, total
from reviewbot.eval.store import (
    CallEntry,
    JudgmentRecord,
    LinkEntry,
    ReviewRecord,
    Store,
    digest,
)
from reviewbot.llm.transport import Transport
from reviewbot.llm.usage import CallRecord, call_cost
from reviewbot.pipeline.review import run_review


@dataclass
class PRResult:
    golden: Golden
    candidates: tuple[Candidate, ...] = ()
    links: tuple[Link, ...] = ()
    score: PRScore | None = None
    specialists: tuple[str, ...] = ()            # the reviewers that ran
    review_calls: tuple[CallRecord, ...] = ()
    judge_calls: tuple[CallRecord, ...] = ()
    reused_review: bool = False
    reused_judgment: bool = False
    complete: bool = True                        # False: a reviewer or the summary failed
    error: str | None = None                     # the PR could not be reviewed or judged
    notes: list[str] = field(default_factory=list)

    @property
    def review_cost(self) -> float:
        return sum(call_cost(c) for c in self.review_calls)

    @property
    def judge_cost(self) -> float:
        return sum(call_cost(c) for c in self.judge_calls)


@dataclass
class CellResult:
    cell: Cell
    prs: list[PRResult]

    @property
    def totals(self) -> Totals:
        return total([p.score for p in self.prs if p.score is not None])

    @property
    def review_cost(self) -> float:
        return sum(p.review_cost for p in self.prs)

    @property
    def judge_cost(self) -> float:
        return sum(p.judge_cost for p in self.prs)

    @property
    def failed(self) -> list[PRResult]:
        return [p for p in self.prs if p.error is not None]


def candidates_of(findings: Iterable[Finding]) -> tuple[Candidate, ...]:
    """The review's findings (what a user is shown) as the judge's numbered candidates."""
    return tuple(Candidate(i, f.specialist, f.severity, f.path, f.line, f.title, f.explanation,
                           tuple(f.also_flagged_by)) for i, f in enumerate(findings, 1))


def review_key(golden: Golden, cell: Cell, config: Config) -> str:
    source = {"repository": golden.repository, "number": golden.number,
              "local": golden.local.name if golden.local else None, "base": golden.base, "head": golden.head}
    return digest({"pr": golden.id, "source": source, "cell": cell.settings(), "config": dataclasses.asdict(config),
                   "reviewbot": __version__})


def judgment_key(golden: Golden, candidates: tuple[Candidate, ...], judge_model: str) -> str:
    """The judge's first request decides its answer: model, instructions, tool schema, the PR's text
    (title, golden comments, findings); the specialists credited with each finding decide the scores."""
    request = build_request(judge_model, pr_text(golden.title, golden.repository, golden.comments, candidates), [])
    return digest({"pr": golden.id, "request": request,
                   "credited": [[c.id, *c.specialists] for c in candidates]})


class Evaluation:
    def __init__(self, transport: Transport, judge_model: str, store: Store, read_change: Callable[[Golden], Change],
                 on_event: OnEvent = ignore, on_review_event: OnEvent = ignore,
                 partial_credit: bool = True, jobs: int = 1, clock: Callable[[], float] = time.monotonic):
        self.transport, self.judge_model, self.store = transport, judge_model, store
        self.read_change, self.on_event, self.on_review_event = read_change, on_event, on_review_event
        self.partial_credit, self.jobs, self.clock = partial_credit, max(1, jobs), clock
        self.t0 = clock()
        self._changes: dict[str, Change] = {}
        self._reading = asyncio.Lock()

    async def run(self, goldens: tuple[Golden, ...], cells: tuple[Cell, ...], base: Config) -> list[CellResult]:
        out = []
        for cell in cells:
            if len(cells) > 1:
                self.on_event(EvalCell(cell.label))
            gate = asyncio.Semaphore(self.jobs)

            async def one(g: Golden, cell: Cell = cell, gate: asyncio.Semaphore = gate) -> PRResult:
                async with gate:
                    return await self.pr(g, cell, cell.config(base))
            out.append(CellResult(cell, list(await asyncio.gather(*(one(g) for g in goldens)))))
        return out

    async def _change(self, golden: Golden) -> Change:
        async with self._reading:                    # each PR read once, whatever the number of cells
            if golden.id not in self._changes:
                self._changes[golden.id] = await asyncio.to_thread(self.read_change, golden)
            return self._changes[golden.id]

    async def pr(self, golden: Golden, cell: Cell, config: Config) -> PRResult:
        res = PRResult(golden)
        name = golden.id
        key = review_key(golden, cell, config)
        saved = self.store.load_review(golden.id, key)
        if saved is not None:
            res.reused_review = True
            res.candidates = tuple(saved.candidates)
            res.specialists = tuple(saved.specialists)
            res.review_calls = tuple(c.record() for c in saved.calls)
            res.notes += saved.notes
            self.on_event(EvalReviewReused(name, len(res.candidates)))
        else:
            try:
                change = await self._change(golden)
            except CredentialsError:
                raise
            except (APIError, InputError) as e:
                res.error = f"cannot read the PR: {e}"
                self.on_event(EvalFailed(name, res.error))
                return res
            try:
                self.on_event(EvalReviewing(name, len(change.files), cell.label))
                with tempfile.TemporaryDirectory(prefix="reviewbot-eval-") as tmp:
                    review = await run_review(change, config, self.transport,
                                              Path(tmp) / "ws", self.on_review_event)
            except CredentialsError:
                raise
            except (APIError, InputError) as e:
                res.error = f"review failed: {e}"
                self.on_event(EvalFailed(name, res.error))
                return res
            res.candidates = candidates_of(review.findings)
            res.specialists = tuple(a.name for a in review.agents if a.status != "idle")
            res.review_calls = review.calls
            res.complete = review.complete
            failed = [a.name for a in review.agents if a.status == "failed"]
            if failed or (review.summary is not None and review.summary.status != "ok"):
                res.notes.append("partial review: " + ", ".join(failed + (["summary"] if review.summary and
                                                                          review.summary.status != "ok" else []))
                                 + " failed; not saved, redone on the next run")
            else:
                self.store.save_review(ReviewRecord(
                    key=key, pr=golden.id, candidates=list(res.candidates),
                    specialists=list(res.specialists), calls=[CallEntry.of(c) for c in review.calls]))
            self.on_event(EvalReviewed(name, len(res.candidates), res.review_cost))

        jkey = judgment_key(golden, res.candidates, self.judge_model)
        judged = self.store.load_judgment(golden.id, jkey)
        if judged is not None:
            res.reused_judgment = True
            res.links = judged.link_values()
            res.judge_calls = tuple(c.record() for c in judged.calls)
            res.notes += judged.notes
        else:
            if res.candidates:
                self.on_event(EvalJudging(name, len(res.candidates), len(golden.comments)))
            jr = await judge_pr(self.transport, self.judge_model, golden.title, golden.repository, golden.comments,
                                res.candidates, self.t0)
            res.judge_calls = tuple(jr.calls)
            res.notes += jr.notes
            if jr.error is not None:
                res.error = f"judge failed: {jr.error}"
                self.on_event(EvalFailed(name, res.error))
                return res
            res.links = jr.links
            self.store.save_judgment(JudgmentRecord(
                key=jkey, pr=golden.id, links=[LinkEntry(**dataclasses.asdict(x)) for x in jr.links],
                calls=[CallEntry.of(c) for c in jr.calls], notes=jr.notes))
        res.score = score_pr(tuple(c.severity for c in golden.comments), res.candidates, res.links,
                             self.partial_credit, res.specialists)
        c = res.score.counts
        self.on_event(EvalScored(name, c.found, c.golden, c.tp, c.fp))
        return res
