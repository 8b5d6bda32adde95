"""The poster: thin code that sends a plan through the API passed in (api.PullRequestApi).

`post_review` posts one review and never loses it to a 422 (refused comments move to the body) or
to a lost answer (the review is looked up by its key before it is sent again). `run_steps` is the
best-effort cleanup after the commit point: a failed step is reported, and left for the next run.
Nothing here decides what to post: the bodies come as values (bodies.SummaryText, UpdateText), the
steps from plan.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from reviewbot.errors import APIError, Forbidden, Unprocessable
from reviewbot.github.api import PostedComment, PostedReview, PullRequestApi
from reviewbot.github.bodies import BodyFinding, InlineComment, SummaryText, UpdateText, body_block, valid_on
from reviewbot.github.markers import FIXED, REOPENED, read_markers
from reviewbot.github.plan import Step
from reviewbot.github.source import file_change


@dataclass(frozen=True)
class Draft:
    """A review to post: the comments, the body findings and the body they are rendered into."""

    commit_id: str
    comments: tuple[InlineComment, ...]
    findings: tuple[BodyFinding, ...]
    text: SummaryText | UpdateText
    key: str = ""                            # a marker only this run's review carries

    def body(self) -> str:
        return self.text.render(self.findings, len(self.comments))

    def demote(self, comments: tuple[InlineComment, ...], why: str) -> Draft:
        """These comments move into the body (GitHub would not place them)."""
        ids = {id(c) for c in comments}
        moved = tuple(body_block(c.finding, why) for c in comments)
        return replace(self, comments=tuple(c for c in self.comments if id(c) not in ids),
                       findings=self.findings + moved)


def post_review(api: PullRequestApi, draft: Draft, login: str) -> tuple[PostedReview, Draft]:
    """Post one review; a 422 on comments never loses it. After a 422 the comments that a fresh read
    of the PR's files does not accept move to the body (all of them when none can be told apart) and
    the review is sent again; a second 422 sends it with every comment in the body.

    A review whose answer was lost (5xx, timeout) is looked up by its key before it is sent again."""
    def already_done() -> PostedReview | None:
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
                files = {fc.path: fc for fc in (file_change(f) for f in api.files())}
                suspects = tuple(c for c in draft.comments if not valid_on(c, files))
                draft = draft.demote(suspects or draft.comments, why)
            else:
                draft = draft.demote(draft.comments, why)


def find_reply(api: PullRequestApi, login: str, comment_id: int, kind: str, fp: str) -> PostedComment | None:
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


def run_steps(api: PullRequestApi, steps: tuple[Step, ...], login: str) -> Done:
    """The cleanup after the commit point, best effort: a step that fails is reported and left for
    the next run (which sees what is done and completes the rest); it never undoes the review."""
    done: list[Step] = []
    failed: list[tuple[Step, str]] = []
    forbidden = ""
    for step in steps:
        try:
            if step.kind in ("delete", "withdraw"):
                api.delete_comment(step.target, "withdrawing a duplicate comment" if step.kind == "withdraw"
                                   else "deleting a fixed finding's comment")
            elif step.kind == "hide":
                api.minimize(step.node, step.body or "DUPLICATE")
            else:
                if step.reply:
                    kind = FIXED if step.kind == "fixed" else REOPENED

                    def landed(cid: int = step.target, k: str = kind, fp: str = step.fp) -> PostedComment | None:
                        return find_reply(api, login, cid, k, fp)
                    api.reply(step.target, step.body, already_done=landed)
                if step.node and not forbidden:
                    try:
                        api.resolve_thread(step.node, resolve=step.kind == "fixed")
                    except Forbidden as e:
                        forbidden = str(e)
            done.append(step)
        except APIError as e:
            failed.append((step, str(e)))
    return Done(tuple(done), tuple(failed), forbidden)
