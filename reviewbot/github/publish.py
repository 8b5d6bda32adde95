"""What to post on a pull request, decided purely; and a thin poster that sends it.

One run posts at most one review. The first review of a PR carries the *summary* in its body: the
summary agent's overview, the findings that cannot sit on a diff line (grouped by file), a short
cost line, and a hidden state marker (the last reviewed commit, the running cost). Its inline
comments sit only on lines GitHub accepts (new-file lines inside a hunk, RIGHT side; a range within
one hunk), with a ```suggestion block when the finding carries a replacement.

Later runs (a push: `synchronize`) review only the new commits and:
- post a review only for findings not posted before (same fingerprint = same finding: file,
  category and normalised title, hidden in every comment), with a one-line body;
- on the bot's own threads whose comment went outdated and whose finding the new review no longer
  reports: delete the comment when nobody replied, else reply "Fixed in <sha>" (once);
- edit the summary in place (new body findings, the update's overview, cost so far, the new
  reviewed commit). The summary edit is the last write: it is the commit point of a run, so a run
  that died half-way is redone (and deduplicated) by the next one.
A run whose head is the reviewed commit posts nothing.

Hidden markers are HTML comments, `<!-- reviewbot:KIND {json} -->`, with `<`, `>` and `-` escaped
inside the JSON so nothing in it can end the comment. They are read only from the bot's own posts,
and text the bot did not write itself (model output, file paths) is defused so it cannot forge one.

Sizes: GitHub refuses bodies over 65536 characters; comments and bodies are fitted (suggestion
dropped, text cut, lowest-ranked body findings left out with a note) before anything is sent.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from ..change.model import Change, FileChange
from ..publish.render import clean
from ..specialists.findings import GENERAL, INLINE, SEVERITY_RANK, Finding, place
from ..usage import CallRecord, summarize
from .gh import APIError, Forbidden, PostedComment, PostedReview, ReviewThread, Unprocessable
from .outgoing import unfoldable

MAX_BODY = 65536                  # GitHub's limit, in characters, for a review body and a comment
MAX_INLINE = 50                   # inline comments per review; more go to the body
MAX_OVERVIEW = 6000
MAX_EXPLANATION = 6000
SUMMARY, UPDATE, FINDING, FIXED, OVERVIEW, LATEST = "summary", "update", "finding", "fixed", "overview", "latest"
REOPENED, WITHDRAWN = "reopened", "withdrawn"
STATE_VERSION = 1

_MARKER = re.compile(r"<!-- reviewbot:([a-z]+) (\{[^<>]*?\}) -->")
_BLOCK = re.compile(r"<!-- reviewbot:finding (\{[^<>]*?\}) -->\n(.*?)\n<!-- /reviewbot:finding -->", re.S)
_FORGED = re.compile(r"(<!--\s*/?)(reviewbot)(:)", re.I)
_MENTION = re.compile(r"(?<![\w@/`.])@(?=[A-Za-z0-9])")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


# --------------------------------------------------------------------------------------------
# markers and text safety


def marker(kind: str, data: dict) -> str:
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("-", "\\u002d")
    return f"<!-- reviewbot:{kind} {text} -->"


def read_markers(body: str, kind: str) -> list[dict]:
    out = []
    for k, data in _MARKER.findall(body or ""):
        if k == kind:
            try:
                value = json.loads(data)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def _section(body: str, name: str) -> str | None:
    m = re.search(rf"<!-- reviewbot:{name} -->\n(.*?)\n<!-- /reviewbot:{name} -->", body or "", re.S)
    return m.group(1) if m else None


def defuse(text: str | None) -> str:
    """Text the bot did not write (model output, paths): no control characters, no marker lookalikes."""
    return _FORGED.sub(lambda m: m.group(1) + "review\u200bbot" + m.group(3), clean(text))


def prose(text: str | None) -> str:
    """defuse(), and @mentions outside code made inert: a finding must not ping people or teams."""
    parts = _CODE.split(defuse(text))
    return "".join(p if i % 2 else _MENTION.sub("@\u200b", p) for i, p in enumerate(parts))


def _fence(text: str, info: str = "") -> str:
    """A fenced block that the text cannot close: longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(0, limit - 2)].rstrip() + " …"


def short(sha: str) -> str:
    return (sha or "")[:7]


# --------------------------------------------------------------------------------------------
# findings as comments and as body blocks


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    start_line: int | None
    body: str
    fingerprint: str
    severity: str
    finding: Finding = field(compare=False, repr=False)

    def payload(self) -> dict:
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

    def _data(self) -> dict:
        return {"fp": self.fingerprint, "sev": self.severity, "path": self.path, "t": self.title[:200],
                "line": self.line, "k": self.placement}


def _finding_data(f: Finding) -> dict:
    return {"fp": f.fingerprint, "sev": f.severity, "path": f.path, "t": f.title[:200], "line": f.line}


def _byline(f: Finding) -> str:
    who = f.specialist + (f", also {', '.join(f.also_flagged_by)}" if f.also_flagged_by else "")
    return f"{who} · {prose(f.category)} · confidence {f.confidence:.2f}"


def comment_body(f: Finding, limit: int = MAX_BODY) -> str:
    """An inline comment: title, explanation, suggestion block, byline, hidden marker; within `limit`."""
    head = f"**[{f.severity}] {prose(f.title)}**"
    tail = f"<sub>{_byline(f)}</sub>\n{marker(FINDING, _finding_data(f))}"
    suggestion = ""
    if f.suggestion is not None:
        suggestion = _fence(clean(f.suggestion).rstrip("\n"), "suggestion")
        suggestion = _FORGED.sub(lambda m: m.group(1) + "review\u200bbot" + m.group(3), suggestion)
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
        lines += ["", "Suggested replacement:", "", _fence(defuse(f.suggestion).rstrip("\n"))]
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


# --------------------------------------------------------------------------------------------
# what is on the PR already


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
    state: dict = field(default_factory=dict)
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
    def cost(self) -> "CostState":
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


def _body_findings(body: str) -> tuple[BodyFinding, ...]:
    out = []
    for data, block in _BLOCK.findall(body or ""):
        try:
            d = json.loads(data)
        except json.JSONDecodeError:
            continue
        if isinstance(d, dict) and isinstance(d.get("fp"), str) and d.get("sev") in SEVERITY_RANK:
            out.append(BodyFinding(d["fp"], d["sev"], str(d.get("path") or ""), block, str(d.get("t") or ""),
                                   d.get("line") if isinstance(d.get("line"), int) else 0, str(d.get("k") or "file")))
    return tuple(out)


def _ints(items) -> tuple[int, ...]:
    return tuple(i for i in items or () if isinstance(i, int) and not isinstance(i, bool))


def _record(r: PostedReview) -> Record | None:
    found = read_markers(r.body, UPDATE)
    if not found or not isinstance(found[-1].get("head"), str):
        return None
    d = found[-1]
    prev = d.get("prev") if isinstance(d.get("prev"), str) else None
    micro = d.get("micro_usd") if isinstance(d.get("micro_usd"), int) and d["micro_usd"] >= 0 else 0
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
    upto = state.get("upto") if isinstance(state.get("upto"), int) else 0
    seen = {(summary.commit_id, None)} if summary else set()
    duplicates = [r for r in summaries[1:]]
    pending, folded = [], []
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
        out.append(Thread(c, d["fp"], d.get("sev") if d.get("sev") in SEVERITY_RANK else "low",
                          str(d.get("t") or ""), rs, fixed, t.id if t else "", bool(t and t.resolved),
                          t.resolved_by if t else "", reopened))
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


# --------------------------------------------------------------------------------------------
# the plan of one run


@dataclass(frozen=True)
class Step:
    """One best-effort write on an old thread or review, after the run's commit point."""

    kind: str                  # "fixed" (reply + resolve), "delete", "reopen" (reply + unresolve), "hide",
                               # "withdraw" (delete a duplicate's comment)
    target: int                # the comment (or review) id
    node: str = ""             # the GraphQL id of its thread (or of the review, for "hide")
    body: str = ""             # the reply, for "fixed" and "reopen"
    reply: bool = True         # the reply is still to post (else only the thread's state)


@dataclass(frozen=True)
class Plan:
    inline: tuple[InlineComment, ...]          # new findings on diff lines
    body_new: tuple[BodyFinding, ...]          # new findings that cannot be inline
    carried: tuple[BodyFinding, ...]           # body findings of the summary that still apply
    steps: tuple[Step, ...]                    # cleanup after the commit point
    repeated: int                              # findings this run that were posted before
    gone: tuple[Thread, ...] = ()              # threads this run found fixed
    reopen: tuple[tuple[int, str], ...] = ()   # (comment, severity) of human-resolved threads now worse
    folded: int = 0                            # exact repeats within this run, folded into one

    @property
    def new_count(self) -> int:
        return len(self.inline) + len(self.body_new)

    @property
    def settle(self) -> tuple[int, ...]:
        return tuple(t.comment.id for t in self.gone)

    @property
    def deletes(self) -> tuple[int, ...]:
        return tuple(s.target for s in self.steps if s.kind in ("delete", "withdraw"))

    @property
    def replies(self) -> tuple[tuple[int, str], ...]:
        return tuple((s.target, s.body) for s in self.steps if s.kind in ("fixed", "reopen") and s.reply)


def fold_repeats(findings: tuple[Finding, ...]) -> tuple[tuple[Finding, ...], int]:
    """One finding per fingerprint (file, category, title): the first in rank order, inline-placed
    ones first. Two findings with one fingerprint are the same finding to every later run, so
    posting both would post it twice (a summary-agent finding identical to a specialist's)."""
    best: dict[str, Finding] = {}
    for f in findings:
        keep = best.get(f.fingerprint)
        if keep is None or (f.placement == INLINE and keep.placement != INLINE):
            best[f.fingerprint] = f
    kept = {id(f) for f in best.values()}
    return tuple(f for f in findings if id(f) in kept), len(findings) - len(best)


def fixed_reply(head_sha: str, fp: str) -> str:
    return (f"Fixed in `{head_sha[:12]}`: this line changed and the new review no longer reports it.\n"
            + marker(FIXED, {"fp": fp, "sha": head_sha}))


def reopen_reply(head_sha: str, fp: str, severity: str) -> str:
    return (f"Still reported at `{head_sha[:12]}`, and now **{severity}**: reopened.\n"
            + marker(REOPENED, {"fp": fp, "sha": head_sha, "sev": severity}))


def cleanup_steps(prior: Prior, settle: tuple[int, ...], reopen: tuple[tuple[int, str], ...], head_sha: str,
                  delete_fixed: bool = False) -> tuple[Step, ...]:
    """What is left to do on old threads for `settle` (found fixed) and `reopen`, given what GitHub
    shows now: steps already done (a reply posted, a thread resolved, a comment gone) are skipped, so
    a run that died half-way is completed, never repeated. Also: withdraw the comments of duplicate
    reviews, and hide (minimize) the duplicates' bodies."""
    by_id = {t.comment.id: t for t in prior.threads}
    steps = []
    for cid in settle:
        t = by_id.get(cid)
        if t is None:
            continue                                      # deleted already, or not the bot's
        if delete_fixed and not t.answered and not t.fixed:
            steps.append(Step("delete", cid))
            continue
        if t.fixed and (t.resolved or not t.node):
            continue
        steps.append(Step("fixed", cid, t.node, fixed_reply(head_sha, t.fingerprint), reply=not t.fixed))
    for cid, sev in reopen:
        t = by_id.get(cid)
        if t is None or (sev in t.reopened and not t.resolved):
            continue
        steps.append(Step("reopen", cid, t.node, reopen_reply(head_sha, t.fingerprint, sev),
                          reply=sev not in t.reopened))
    steps += [Step("withdraw", c.id) for c in prior.dup_comments]
    steps += [Step("hide", r.id, r.node_id) for r in prior.duplicates if r.node_id]
    return tuple(steps)


def plan_run(findings: tuple[Finding, ...], pr_change: Change, prior: Prior, head_sha: str,
             complete: bool, min_severity: str = "nit", max_inline: int = MAX_INLINE,
             delete_fixed: bool = False, no_inline: frozenset[str] = frozenset()) -> Plan:
    """Which findings are new and where they go; which old threads are settled.

    Findings are placed again on the PR's whole diff (an incremental review placed them on the new
    commits' diff), and exact repeats are folded. Inline comments are the findings at or above
    `min_severity`, at most `max_inline` (never more than GitHub-friendly MAX_INLINE), and not on a
    file of `no_inline` (a diff GitHub does not show); the rest go to the body. Old threads are only
    settled after a complete review: a reviewer that failed cannot vouch that a finding is gone.
    A thread someone resolved stays resolved, unless the finding is reported again, and worse."""
    placed, folded = fold_repeats(tuple(place(f, pr_change) for f in findings))
    current = {f.fingerprint: f for f in placed}
    posted = prior.posted
    new = [f for f in placed if f.fingerprint not in posted]
    threshold = SEVERITY_RANK.get(min_severity, len(SEVERITY_RANK))
    wanted = [f for f in new if f.placement == INLINE and SEVERITY_RANK.get(f.severity, 9) <= threshold
              and f.path not in no_inline]
    inline_f = wanted[:min(max_inline, MAX_INLINE)]
    inline = tuple(inline_comment(f) for f in inline_f)
    inline_ids = {id(f) for f in inline_f}

    def why(f: Finding) -> str:
        if f.placement != INLINE:
            return ""
        if f.path in no_inline:
            return "GitHub shows no diff for this file, so it cannot hold an inline comment"
        if SEVERITY_RANK.get(f.severity, 9) > threshold:
            return f"below the {min_severity} threshold for inline comments"
        return "more inline comments than one review holds"
    body_new = tuple(body_block(f, why(f)) for f in new if id(f) not in inline_ids)
    paths = {fc.path for fc in pr_change.files}
    # a finding on a file stays while the file is in the PR; one about the whole change (or a path
    # that never was a file of the PR) stays
    carried = tuple(b for b in prior.all_body_findings if b.placement == GENERAL or not b.path or b.path in paths)
    gone, reopen = [], []
    if complete and prior.reviewed is not None:
        for t in prior.threads:
            f = current.get(t.fingerprint)
            if f is None and t.comment.outdated and not t.fixed and not t.resolved:
                gone.append(t)
            elif (f is not None and t.resolved and t.resolved_by != t.comment.author
                  and SEVERITY_RANK.get(f.severity, 9) < SEVERITY_RANK.get(t.severity, 9)
                  and f.severity not in t.reopened):
                reopen.append((t.comment.id, f.severity))
    settle = tuple(dict.fromkeys(prior.to_settle + tuple(t.comment.id for t in gone)))
    reopens = tuple(dict.fromkeys(prior.to_reopen + tuple(reopen)))
    steps = cleanup_steps(prior, settle, reopens, head_sha, delete_fixed)
    return Plan(inline, body_new, carried, steps, len(placed) - len(new), tuple(gone), tuple(reopen), folded)


# --------------------------------------------------------------------------------------------
# bodies


@dataclass(frozen=True)
class CostState:
    runs: int = 0
    micro_usd: int = 0               # all runs on this PR, in millionths of a dollar (no floats in markers)

    @classmethod
    def of(cls, state: dict) -> "CostState":
        runs, micro = state.get("runs"), state.get("micro_usd")
        return cls(runs if isinstance(runs, int) and runs >= 0 else 0,
                   micro if isinstance(micro, int) and micro >= 0 else 0)

    def plus(self, calls: tuple[CallRecord, ...]) -> "CostState":
        return CostState(self.runs + 1, self.micro_usd + round(summarize(calls).cost * 1_000_000))


def cost_line(calls: tuple[CallRecord, ...], model: str, total: CostState | None = None) -> str:
    run = summarize(calls)
    hit = "n/a" if run.hit_rate is None else f"{run.hit_rate:.1%}"
    line = (f"reviewbot · {defuse(model)} · {run.calls} calls · cache hit rate {hit} · "
            f"${run.cost:.4f} (without caching ${run.naive_cost:.4f})")
    if total is not None and total.runs > 1:
        line += f" · ${total.micro_usd / 1_000_000:.4f} over {total.runs} reviews of this pull request"
    return line


def read_model(body: str) -> str:
    """The model named in a summary's cost line (for a summary edit that makes no model call)."""
    m = re.search(r"<sub>reviewbot · (\S+) · ", body or "")
    return m.group(1) if m else ""


def fit_body(head: str, findings: tuple[BodyFinding, ...],
             tail: Callable[[tuple[BodyFinding, ...]], str], limit: int = MAX_BODY) -> tuple[str, tuple[BodyFinding, ...]]:
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
                 not_reviewed: tuple[tuple[str, str], ...] = ()) -> str:
    """The summary (the first review's body). `overview` is the first full review's, `latest` the
    newest update's; both are model text and are defused here. Its state marker holds the reviewed
    head, the running cost, `upto` (the newest update review folded in) and the cleanup its run
    still owes (`settle`, `reopen`), so a later run can complete what a failed one left."""
    ov = _cut(prose(overview).strip(), MAX_OVERVIEW) if overview else "_No overview was written._"
    head = ["## reviewbot review", "", f"<!-- reviewbot:{OVERVIEW} -->", ov, f"<!-- /reviewbot:{OVERVIEW} -->"]
    if latest:
        head += ["", f"<!-- reviewbot:{LATEST} -->", _cut(latest, MAX_OVERVIEW), f"<!-- /reviewbot:{LATEST} -->"]
    n = open_inline + len(findings) + len(prior_omitted)
    head += ["", f"**Verdict:** {_VERDICT.get(verdict or '', 'not given')} · {n} open finding(s): "
                 f"{open_inline} inline, {n - open_inline} below"]
    if not complete:
        head += ["", "**Partial review:** some reviewers did not finish; the job log has the details."]
    head += not_reviewed_lines(not_reviewed)

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
        return f"<sub>{cost_line(calls, model, cost)}</sub>\n{marker(SUMMARY, state)}"

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
    data: dict = {"head": head_sha, "micro_usd": round(summarize(calls).cost * 1_000_000)}
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


def withdrawn_body(winner: PostedReview) -> str:
    """What a duplicate review (a run that lost a race) is edited to: no findings, no run marker."""
    return (f"_This review repeated {winner.html_url or 'an earlier review'} (two runs reviewed the same commit at "
            f"once); its comments were withdrawn._\n{marker(WITHDRAWN, {'of': winner.id})}")


# --------------------------------------------------------------------------------------------
# outputs for GitHub Actions


def open_findings(prior: Prior, plan: Plan | None, body_findings: tuple[BodyFinding, ...],
                  omitted: tuple[tuple[str, str], ...], inline: tuple[InlineComment, ...] | None = None) -> tuple[str, ...]:
    """Severities of the bot's findings open on the PR after this run (inline and in the summary),
    one per fingerprint: a comment GitHub refused and moved to the body counts once. `inline` is
    what was actually posted inline (default: the plan's)."""
    # a thread found fixed is not open, even while its cleanup (reply, resolve) is still owed
    settled = {t.comment.id for t in plan.gone} if plan else set()
    settled |= set(prior.to_settle)
    sev: dict[str, str] = {}
    for t in prior.threads:
        if not t.fixed and not t.resolved and t.comment.id not in settled:
            sev.setdefault(t.fingerprint, t.severity)
    for c in (plan.inline if plan else ()) if inline is None else inline:
        sev.setdefault(c.fingerprint, c.severity)
    for b in body_findings:
        sev.setdefault(b.fingerprint, b.severity)
    for fp, s in omitted:
        sev.setdefault(fp, s)
    return tuple(sorted(sev.values(), key=lambda s: SEVERITY_RANK.get(s, 9)))


def highest(severities: tuple[str, ...]) -> str:
    return severities[0] if severities else "none"


def outputs(*, findings: int, new: int, highest_severity: str, calls: tuple[CallRecord, ...],
            review_url: str = "", skipped: str = "") -> dict[str, str]:
    run = summarize(calls)
    return {"findings": str(findings), "new-findings": str(new), "highest-severity": highest_severity,
            "cost": f"{run.cost:.6f}", "cache-hit-rate": "" if run.hit_rate is None else f"{run.hit_rate:.4f}",
            "review-url": review_url, "skipped": skipped}


def step_summary(title: str, status: str, out: dict[str, str], details: str = "") -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: what happened, the numbers, and the full review folded.
    Everything but the table is defused like posted text: the review is model output, the status may
    quote GitHub or the PR, and neither may ping anyone, forge a marker or break the fold."""
    rate = out.get("cache-hit-rate") or ""
    lines = [f"### reviewbot: {prose(title)}", "", unfoldable(prose(status)), "",
             "| open findings | new | highest severity | cost | cache hit rate |", "|---|---|---|---|---|",
             f"| {out['findings']} | {out['new-findings']} | {out['highest-severity']} | ${float(out['cost']):.4f} | "
             f"{(f'{float(rate):.1%}') if rate else 'n/a'} |"]
    if details:
        lines += ["", "<details><summary>Full review</summary>", "", unfoldable(prose(details)).strip(), "",
                  "</details>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# the poster (thin: the API is passed in; every decision above is pure)


@dataclass(frozen=True)
class Draft:
    """A review to post: the comments, and how to render its body from the body findings."""

    commit_id: str
    comments: tuple[InlineComment, ...]
    findings: tuple[BodyFinding, ...]
    render: Callable[[tuple[BodyFinding, ...], int], str] = field(compare=False, repr=False)
    key: str = ""                            # a marker only this run's review carries

    def body(self) -> str:
        return self.render(self.findings, len(self.comments))

    def demote(self, comments: tuple[InlineComment, ...], why: str) -> "Draft":
        """These comments move into the body (GitHub would not place them)."""
        ids = {id(c) for c in comments}
        moved = tuple(body_block(c.finding, why) for c in comments)
        return replace(self, comments=tuple(c for c in self.comments if id(c) not in ids),
                       findings=self.findings + moved)


def post_review(api, draft: Draft, login: str,
                revalidate: Callable[[], dict[str, FileChange]]) -> tuple[PostedReview, Draft]:
    """Post one review; a 422 on comments never loses it. After a 422 the comments that a fresh read
    of the PR's files does not accept move to the body (all of them when none can be told apart) and
    the review is sent again; a second 422 sends it with every comment in the body.

    A review whose answer was lost (5xx, timeout) is looked up by its key before it is sent again."""
    def already_done():
        return next((r for r in api.reviews() if r.author == login and draft.key in r.body), None)

    attempts = 0
    while True:
        try:
            posted = api.create_review(draft.commit_id, draft.body(), [c.payload() for c in draft.comments],
                                       already_done=already_done)
            return posted, draft
        except Unprocessable as e:
            attempts += 1
            if not draft.comments or attempts > 2 or any("too long" in m.lower() for m in e.errors):
                raise
            why = "GitHub did not accept a comment on this line"
            if attempts == 1:
                files = revalidate()
                suspects = tuple(c for c in draft.comments if not valid_on(c, files))
                draft = draft.demote(suspects or draft.comments, why)
            else:
                draft = draft.demote(draft.comments, why)


def find_reply(api, login: str, comment_id: int, kind: str, fp: str) -> PostedComment | None:
    for c in api.review_comments():
        if c.in_reply_to == comment_id and c.author == login and any(
                m.get("fp") == fp for m in read_markers(c.body, kind)):
            return c
    return None


@dataclass(frozen=True)
class Done:
    """What the cleanup got to: steps done, steps that failed (with GitHub's one-line error), and
    why threads could not be resolved (a token without `contents: write`), if so."""

    done: tuple[Step, ...] = ()
    failed: tuple[tuple[Step, str], ...] = ()
    forbidden: str = ""

    def count(self, kind: str) -> int:
        return sum(1 for s in self.done if s.kind == kind)


def run_steps(api, steps: tuple[Step, ...], login: str) -> Done:
    """The cleanup after the commit point, best effort: a step that fails is reported and left for
    the next run (which sees what is done and completes the rest); it never undoes the review."""
    done, failed, forbidden = [], [], ""
    for step in steps:
        try:
            if step.kind in ("delete", "withdraw"):
                api.delete_comment(step.target, "withdrawing a duplicate comment" if step.kind == "withdraw"
                                   else "deleting a fixed finding's comment")
            elif step.kind == "hide":
                api.minimize(step.node, step.body or "DUPLICATE")
            else:
                kind = FIXED if step.kind == "fixed" else REOPENED
                if step.reply:
                    fp = read_markers(step.body, kind)[0]["fp"]
                    api.reply(step.target, step.body,
                              already_done=lambda cid=step.target, k=kind, fp=fp: find_reply(api, login, cid, k, fp))
                if step.node and not forbidden:
                    try:
                        api.resolve_thread(step.node, resolve=step.kind == "fixed")
                    except Forbidden as e:
                        forbidden = str(e)
            done.append(step)
        except APIError as e:
            failed.append((step, str(e)))
    return Done(tuple(done), tuple(failed), forbidden)
