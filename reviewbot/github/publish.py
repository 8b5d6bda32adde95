"""What to post on a pull request, decided purely; and a thin poster that sends it.

One run posts at most one review per reviewed head. The first review of a PR carries the *summary*
in its body: the overview, the findings that cannot sit on a diff line (grouped by file), a cost
line and a hidden state marker. Later runs (a push) review only the new commits, post the new
findings in one review that carries its run's marker, settle the bot's old threads (reply "Fixed
in", resolve; reopen a human-resolved one only when the finding got worse), and edit the summary
in place, last. The order makes every step safe to die after: the review is the commit point, the
cleanup is best effort and idempotent, and the next run completes what a failed one left.

The parts, in pipeline order: markers.py (hidden markers, defusing), bodies.py (comments, bodies,
sizes), prior.py (what is on the PR), plan.py (what this run does, and its numbers), post.py (the
thin poster). This module gathers them under one name for the command and the tests.
"""
from __future__ import annotations

from reviewbot.github.bodies import (
    _VERDICT,
    BodyFinding,
    CostState,
    InlineComment,
    _body_findings,
    _byline,
    _finding_data,
    body_block,
    comment_body,
    cost_line,
    fit_body,
    group_blocks,
    inline_comment,
    latest_text,
    not_reviewed_lines,
    read_model,
    read_run_line,
    summary_body,
    update_body,
    valid_on,
    withdrawn_body,
)
from reviewbot.github.markers import (
    _BLOCK,
    _MARKER,
    FINDING,
    FIXED,
    LATEST,
    MAX_BODY,
    MAX_EXPLANATION,
    MAX_INLINE,
    MAX_OVERVIEW,
    OVERVIEW,
    REOPENED,
    STATE_VERSION,
    SUMMARY,
    UPDATE,
    WITHDRAWN,
    _cut,
    _section,
    marker,
    read_markers,
    short,
)
from reviewbot.github.plan import (
    Plan,
    Step,
    cleanup_steps,
    fixed_reply,
    fold_repeats,
    highest,
    open_findings,
    outputs,
    plan_run,
    reopen_reply,
    step_summary,
)
from reviewbot.github.post import Done, Draft, find_reply, post_review, run_steps
from reviewbot.github.prior import (
    Prior,
    Record,
    Scope,
    Thread,
    _ints,
    _record,
    decide_scope,
    prior_lines,
    read_prior,
    without,
)
from reviewbot.output.safety import defuse, prose

__all__ = ['FINDING', 'FIXED', 'LATEST', 'MAX_BODY', 'MAX_EXPLANATION', 'MAX_INLINE', 'MAX_OVERVIEW', 'OVERVIEW', 'REOPENED', 'STATE_VERSION', 'SUMMARY', 'UPDATE', 'WITHDRAWN', '_BLOCK', '_MARKER', '_VERDICT', 'BodyFinding', 'CostState', 'Done', 'Draft', 'InlineComment', 'Plan', 'Prior', 'Record', 'Scope', 'Step', 'Thread', '_body_findings', '_byline', '_cut', '_finding_data', '_ints', '_record', '_section', 'body_block', 'cleanup_steps', 'comment_body', 'cost_line', 'decide_scope', 'defuse', 'find_reply', 'fit_body', 'fixed_reply', 'fold_repeats', 'group_blocks', 'highest', 'inline_comment', 'latest_text', 'marker', 'not_reviewed_lines', 'open_findings', 'outputs', 'plan_run', 'post_review', 'prior_lines', 'prose', 'read_markers', 'read_model', 'read_run_line', 'read_prior', 'reopen_reply', 'run_steps', 'short', 'step_summary', 'summary_body', 'update_body', 'valid_on', 'withdrawn_body', 'without']
