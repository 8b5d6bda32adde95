"""The plan of one run: which findings are new and where they go, what old threads need, and
which findings are open after it (the numbers the run reports through actions.py).

Exact repeats are folded before anything is placed; old threads are settled only after a complete
review; cleanup steps are computed against what GitHub shows now, so a step a failed run already
did is never done twice. Pure.
"""
from __future__ import annotations

from dataclasses import dataclass

from reviewbot.domain.change import Change
from reviewbot.domain.enums import GENERAL, INLINE, SEVERITY_RANK
from reviewbot.domain.findings import Finding, place
from reviewbot.github.bodies import BodyFinding, InlineComment, body_block, inline_comment
from reviewbot.github.markers import FIXED, MAX_INLINE, REOPENED, marker
from reviewbot.github.prior import Prior, Thread


@dataclass(frozen=True)
class Step:
    """One best-effort write on an old thread or review, after the run's commit point."""

    kind: str                  # "fixed" (reply + resolve), "delete", "reopen" (reply + unresolve), "hide",
                               # "withdraw" (delete a duplicate's comment)
    target: int                # the comment (or review) id
    node: str = ""             # the GraphQL id of its thread (or of the review, for "hide")
    body: str = ""             # the reply, for "fixed" and "reopen"
    reply: bool = True         # the reply is still to post (else only the thread's state)
    fp: str = ""               # the finding's fingerprint, for "fixed" and "reopen" (the reply's marker holds it)


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
        steps.append(Step("fixed", cid, t.node, fixed_reply(head_sha, t.fingerprint), reply=not t.fixed,
                          fp=t.fingerprint))
    for cid, sev in reopen:
        t = by_id.get(cid)
        if t is None or (sev in t.reopened and not t.resolved):
            continue
        steps.append(Step("reopen", cid, t.node, reopen_reply(head_sha, t.fingerprint, sev),
                          reply=sev not in t.reopened, fp=t.fingerprint))
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


def open_findings(prior: Prior, plan: Plan | None, body_findings: tuple[BodyFinding, ...],
                  omitted: tuple[tuple[str, str], ...],
                  inline: tuple[InlineComment, ...] | None = None) -> tuple[str, ...]:
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
