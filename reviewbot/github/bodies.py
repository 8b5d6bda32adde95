"""What the bot writes on a pull request: inline comments, body blocks, the summary, an update.

Each body is built from values and fitted under GitHub's 65536-character limit (suggestion
dropped, text cut, lowest-ranked body findings left out with a note) before anything is sent. The
summary's state marker and every update's run marker are written here and read back in
prior.py, so a later run knows what each run committed. Pure.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reviewbot.domain.change import FileChange
from reviewbot.domain.enums import SEVERITY_RANK
from reviewbot.domain.findings import Finding
from reviewbot.github.api import PostedReview
from reviewbot.github.markers import (
    _BLOCK,
    FINDING,
    LATEST,
    MAX_BODY,
    MAX_EXPLANATION,
    MAX_OVERVIEW,
    OVERVIEW,
    STATE_VERSION,
    SUMMARY,
    UPDATE,
    WITHDRAWN,
    _cut,
    marker,
    short,
)
from reviewbot.llm.usage import CallRecord, summarize
from reviewbot.output.safety import code_fence, defuse, prose


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    start_line: int | None
    body: str
    fingerprint: str
    severity: str
    finding: Finding = field(compare=False, repr=False)

    def payload(self) -> dict[str, Any]:
        d = {"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body}
        if self.start_line is not None:
            d.update(start_line=self.start_line, start_side="RIGHT")
        return d


@dataclass(frozen=True)
class BodyFinding:
    """A finding shown in a review body, with the markers that let a later run find it again."""

    fingerprint: str
    severity: str
    path: str
    block: str           # the markdown between the markers
    title: str = ""
    line: int = 0
    placement: str = "file"     # "file", "general" (its path is not a file of the PR), or "inline"

    def text(self) -> str:
        return f"{marker(FINDING, self._data())}\n{self.block}\n<!-- /reviewbot:finding -->"

    def _data(self) -> dict[str, Any]:
        return {"fp": self.fingerprint, "sev": self.severity, "path": self.path, "t": self.title[:200],
                "line": self.line, "k": self.placement}


def _finding_data(f: Finding) -> dict[str, Any]:
    return {"fp": f.fingerprint, "sev": f.severity, "path": f.path, "t": f.title[:200], "line": f.line,
            "sp": f.specialist}


def _byline(f: Finding) -> str:
    who = f.specialist + (f", also {', '.join(f.also_flagged_by)}" if f.also_flagged_by else "")
    return f"{who} · {prose(f.category)} · confidence {f.confidence:.2f}"


def comment_body(f: Finding, limit: int = MAX_BODY) -> str:
    """An inline comment: title, explanation, suggestion block, byline, hidden marker; within `limit`."""
    head = f"**[{f.severity}] {prose(f.title)}**"
    tail = f"<sub>{_byline(f)}</sub>\n{marker(FINDING, _finding_data(f))}"
    suggestion = ""
    if f.suggestion is not None:
        suggestion = code_fence(defuse(f.suggestion).rstrip("\n"), "suggestion")
    explanation = _cut(prose(f.explanation).strip(), MAX_EXPLANATION)

    def build(expl: str, sugg: str) -> str:
        return "\n\n".join(p for p in (head, expl, sugg, tail) if p)

    body = build(explanation, suggestion)
    if len(body) > limit and suggestion:
        suggestion = "_The suggested replacement is too long to show here._"
        body = build(explanation, suggestion)
    if len(body) > limit:
        room = limit - len(build("", suggestion)) - 4
        body = build(_cut(explanation, room), suggestion)
    return body


def body_block(f: Finding, note: str = "") -> BodyFinding:
    """A finding as shown in a review body (no suggestion block: it would apply to nothing)."""
    where = f"line {f.line}" if f.line else ("file" if f.path else "whole change")
    lines = [f"**[{f.severity}] {prose(f.title)}** · {where} · {_byline(f)}", "",
             _cut(prose(f.explanation).strip(), MAX_EXPLANATION)]
    if f.suggestion:
        lines += ["", "Suggested replacement:", "", code_fence(defuse(f.suggestion).rstrip("\n"))]
    note = note or f.note
    if note:
        lines += ["", f"_{prose(note)}_"]
    return BodyFinding(f.fingerprint, f.severity, f.path, "\n".join(lines).strip(), f.title, f.line, f.placement)


def inline_comment(f: Finding) -> InlineComment:
    start, line = (f.line, f.end_line) if f.end_line else (None, f.line)
    return InlineComment(f.path, line, start, comment_body(f), f.fingerprint, f.severity, f)


def valid_on(c: InlineComment, files: dict[str, FileChange]) -> bool:
    """Would GitHub accept this comment on this diff? RIGHT-side lines of one hunk, start before line."""
    fc = files.get(c.path)
    if fc is None or c.line not in fc.commentable_lines:
        return False
    if c.start_line is None:
        return True
    return (c.start_line < c.line and c.start_line in fc.commentable_lines
            and fc.hunk_index(c.start_line) == fc.hunk_index(c.line))


def group_blocks(findings: tuple[BodyFinding, ...]) -> str:
    """Body findings grouped by file (files in order of first appearance), the whole-change ones last."""
    by_path: dict[str, list[BodyFinding]] = {}
    for b in findings:
        by_path.setdefault(b.path, []).append(b)
    out = []
    for path in sorted(by_path, key=lambda p: (p == "", list(by_path).index(p))):
        out.append(f"#### `{defuse(path)}`" if path else "#### The change as a whole")
        out += [b.text() for b in by_path[path]]
    return "\n\n".join(out)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _body_findings(body: str) -> tuple[BodyFinding, ...]:
    out = []
    for data, block in _BLOCK.findall(body or ""):
        try:
            d = json.loads(data)
        except json.JSONDecodeError:
            continue
        if isinstance(d, dict) and isinstance(d.get("fp"), str) and d.get("sev") in SEVERITY_RANK:
            out.append(BodyFinding(d["fp"], d["sev"], str(d.get("path") or ""), block, str(d.get("t") or ""),
                                   _int(d.get("line")), str(d.get("k") or "file")))
    return tuple(out)


@dataclass(frozen=True)
class CostState:
    runs: int = 0
    micro_usd: int = 0               # all runs on this PR, in millionths of a dollar (no floats in markers)

    @classmethod
    def of(cls, state: dict[str, Any]) -> CostState:
        runs, micro = state.get("runs"), state.get("micro_usd")
        return cls(runs if isinstance(runs, int) and runs >= 0 else 0,
                   micro if isinstance(micro, int) and micro >= 0 else 0)

    def plus(self, calls: tuple[CallRecord, ...]) -> CostState:
        return CostState(self.runs + 1, self.micro_usd + round(summarize(calls).cost * 1_000_000))


def cost_line(calls: tuple[CallRecord, ...], model: str, total: CostState | None = None, run_line: str = "") -> str:
    """The last run's calls, cache hit rate and cost (or `run_line`, that line as an earlier review
    printed it, when the summary is completed without a model call), and the PR's total."""
    run = summarize(calls)
    hit = "n/a" if run.hit_rate is None else f"{run.hit_rate:.1%}"
    line = run_line or (f"reviewbot · {defuse(model)} · {run.calls} calls · cache hit rate {hit} · "
                        f"${run.cost:.4f} (without caching ${run.naive_cost:.4f})")
    if total is not None and total.runs > 1:
        line += f" · ${total.micro_usd / 1_000_000:.4f} over {total.runs} reviews of this pull request"
    return line


def read_model(body: str) -> str:
    """The model named in a summary's cost line (for a summary edit that makes no model call)."""
    m = re.search(r"<sub>reviewbot · (\S+) · ", body or "")
    return m.group(1) if m else ""


def read_run_line(body: str) -> str:
    """An update review's own cost line (the run's calls, hit rate and cost), without the total."""
    m = re.search(r"<sub>(reviewbot · [^<\n]*?\(without caching \$[0-9.]+\))", body or "")
    return m.group(1) if m else ""


def fit_body(head: str, findings: tuple[BodyFinding, ...], tail: Callable[[tuple[BodyFinding, ...]], str],
             limit: int = MAX_BODY) -> tuple[str, tuple[BodyFinding, ...]]:
    """head + grouped findings + tail(left out) within `limit`. Findings that do not fit are left out,
    the lowest-ranked first (they come last), with a note. Returns (body, left out)."""
    for keep in range(len(findings), -1, -1):
        dropped = findings[keep:]
        note = (f"_{len(dropped)} more finding(s) are not shown: the review body reached GitHub's size limit. "
                "The job summary has them all._") if dropped else ""
        parts = [head] + (["### Findings outside the diff", group_blocks(findings[:keep])] if keep else [])
        body = "\n\n".join(p for p in parts + [note, tail(dropped)] if p)
        if len(body) <= limit:
            return body, dropped
    raise ValueError("the review body does not fit even without findings")       # head and tail are capped


_VERDICT = {"no_issues": "no issues", "minor_issues": "minor issues", "needs_changes": "needs changes",
            "blocking_issues": "blocking issues"}


def summary_body(*, overview: str | None, latest: str | None, verdict: str | None, complete: bool,
                 open_inline: int, findings: tuple[BodyFinding, ...], calls: tuple[CallRecord, ...], model: str,
                 cost: CostState, head_sha: str, prior_omitted: tuple[tuple[str, str], ...] = (),
                 upto: int = 0, settle: tuple[int, ...] = (), reopen: tuple[tuple[int, str], ...] = (),
                 not_reviewed: tuple[tuple[str, str], ...] = (), run_line: str = "", feedback: str = "") -> str:
    """The summary (the first review's body). `overview` is the first full review's, `latest` the
    newest update's; both are model text and are defused here. Its state marker holds the reviewed
    head, the running cost, `upto` (the newest update review folded in) and the cleanup its run
    still owes (`settle`, `reopen`), so a later run can complete what a failed one left."""
    ov = _cut(prose(overview).strip(), MAX_OVERVIEW) if overview else "_No overview was written._"
    head = ["## reviewbot review", "", f"<!-- reviewbot:{OVERVIEW} -->", ov, f"<!-- /reviewbot:{OVERVIEW} -->"]
    if latest:
        head += ["", f"<!-- reviewbot:{LATEST} -->", _cut(latest, MAX_OVERVIEW), f"<!-- /reviewbot:{LATEST} -->"]
    n = open_inline + len(findings) + len(prior_omitted)
    head += ["", (f"**Verdict:** {_VERDICT.get(verdict or '', 'not given')} · {n} open finding(s): "
                 f"{open_inline} inline, {n - open_inline} below")]
    if not complete:
        head += ["", "**Partial review:** some reviewers did not finish; the job log has the details."]
    head += not_reviewed_lines(not_reviewed)
    if feedback:
        head += ["", feedback]

    def tail(dropped: tuple[BodyFinding, ...]) -> str:
        state = {"v": STATE_VERSION, "head": head_sha, "runs": cost.runs, "micro_usd": cost.micro_usd}
        if verdict in _VERDICT:
            state["verdict"] = verdict
        if upto:
            state["upto"] = upto
        if settle:
            state["settle"] = list(settle)[:500]
        if reopen:
            state["reopen"] = [list(x) for x in reopen][:500]
        omitted = list(prior_omitted) + [(b.fingerprint, b.severity) for b in dropped]
        if omitted:
            state["omitted"] = [list(x) for x in omitted][:500]
        return f"<sub>{cost_line(calls, model, cost, run_line)}</sub>\n{marker(SUMMARY, state)}"

    return fit_body("\n".join(head), findings, tail)[0]


def latest_text(overview: str | None, since: str, head_sha: str, reviewed: bool = True) -> str:
    if not reviewed:
        text = "the new commits change no file of this pull request; nothing to review."
    elif overview:
        text = _cut(prose(overview).strip(), MAX_OVERVIEW)
    else:
        text = "no overview was written."
    return f"**Update** for `{short(since)}..{short(head_sha)}`: {text}"


def not_reviewed_lines(files: tuple[tuple[str, str], ...]) -> list[str]:
    """The note on files listed but not reviewed (binary, patch omitted by GitHub)."""
    if not files:
        return []
    shown = ", ".join(f"`{defuse(path)}` ({why})" for path, why in files[:20])
    more = f" and {len(files) - 20} more" if len(files) > 20 else ""
    return ["", f"**Not reviewed:** {shown}{more}."]


def update_body(findings: tuple[BodyFinding, ...], inline: int, since: str, head_sha: str,
                calls: tuple[CallRecord, ...], model: str, *, prev: str | None = None, latest: str | None = None,
                verdict: str | None = None, settle: tuple[int, ...] = (),
                reopen: tuple[tuple[int, str], ...] = (), not_reviewed: tuple[tuple[str, str], ...] = ()) -> str:
    """The body of a later run's review: what is new since the last reviewed commit. Its marker is
    the run's record (Record): the head, where the run started (`prev`), its cost, verdict and the
    cleanup it owes; with the `latest` section, everything the summary edit needs, should that edit
    fail."""
    n = inline + len(findings)
    head = (f"**reviewbot** reviewed the commits pushed since `{short(since)}` (`{short(since)}..{short(head_sha)}`): "
            f"{n} new finding(s), {inline} inline. The summary in the first review is updated.")
    if latest:
        head += f"\n\n<!-- reviewbot:{LATEST} -->\n{_cut(latest, MAX_OVERVIEW)}\n<!-- /reviewbot:{LATEST} -->"
    head += "\n".join([""] + not_reviewed_lines(not_reviewed)) if not_reviewed else ""
    data: dict[str, Any] = {"head": head_sha, "micro_usd": round(summarize(calls).cost * 1_000_000)}
    if prev:
        data["prev"] = prev
    if verdict in _VERDICT:
        data["verdict"] = verdict
    if settle:
        data["settle"] = list(settle)[:500]
    if reopen:
        data["reopen"] = [list(x) for x in reopen][:500]
    tail = f"<sub>{cost_line(calls, model)}</sub>\n{marker(UPDATE, data)}"
    return fit_body(head, findings, lambda dropped: tail)[0]


@dataclass(frozen=True)
class SummaryText:
    """The first review's body (the summary) as values, rendered once the findings that end up in
    the body are known (a 422 moves refused inline comments there)."""

    overview: str | None
    verdict: str | None
    complete: bool
    carried: tuple[BodyFinding, ...]          # body findings of an earlier summary that still apply
    calls: tuple[CallRecord, ...]
    model: str
    cost: CostState
    head_sha: str
    prior_omitted: tuple[tuple[str, str], ...] = ()
    not_reviewed: tuple[tuple[str, str], ...] = ()
    feedback: str = ""

    def render(self, findings: tuple[BodyFinding, ...], n_inline: int) -> str:
        return summary_body(overview=self.overview, latest=None, verdict=self.verdict, complete=self.complete,
                            open_inline=n_inline, findings=self.carried + findings, calls=self.calls,
                            model=self.model, cost=self.cost, head_sha=self.head_sha,
                            prior_omitted=self.prior_omitted, not_reviewed=self.not_reviewed,
                            feedback=self.feedback)


@dataclass(frozen=True)
class UpdateText:
    """A later run's review body (update_body) as values, rendered like SummaryText."""

    since: str
    head_sha: str
    calls: tuple[CallRecord, ...]
    model: str
    prev: str | None = None
    latest: str | None = None
    verdict: str | None = None
    settle: tuple[int, ...] = ()
    reopen: tuple[tuple[int, str], ...] = ()
    not_reviewed: tuple[tuple[str, str], ...] = ()

    def render(self, findings: tuple[BodyFinding, ...], n_inline: int) -> str:
        return update_body(findings, n_inline, self.since, self.head_sha, self.calls, self.model, prev=self.prev,
                           latest=self.latest, verdict=self.verdict, settle=self.settle, reopen=self.reopen,
                           not_reviewed=self.not_reviewed)


def withdrawn_body(winner: PostedReview) -> str:
    """What a duplicate review (a run that lost a race) is edited to: no findings, no run marker."""
    return (f"_This review repeated {winner.html_url or 'an earlier review'} (two runs reviewed the same commit at "
            f"once); its comments were withdrawn._\n{marker(WITHDRAWN, {'of': winner.id})}")
