"""One GitHub run, in order: the event, the skip decisions, the pull request as a `Change`, the
review, the plan, the post, the reconciliation with a run that posted at the same time, the
cleanup on old threads, the summary edit, and what the run leaves for GitHub Actions.

`run` is the owner of that sequence; every step is a function that takes values and returns one
(`_Reading`, `_Source`, `Published`, the review's `ReviewResult`), and the run ends with one
`errors.Outcome`. The steps before the paid review are `prepare` (it returns a `Ready` PR, or the
`Ran` of a run with nothing to review), the steps after it `publish_review`; `reviewbot bulk
--github` (github/bulk.py) runs the same two for each of its PRs, with one batch run between.
What it reports goes through `Out`: one line per event on stderr, the step outputs and the job
summary (github/actions.py). A failure is reported where it happens, with the
review when there is one (`_failures`), and then raised to the CLI, which prints the one line.

Posting (`_publish`) is ordered so that a failure or a kill at any point leaves a state the next
run completes without duplicating: re-check, post the review (the commit point), reconcile with a
run that posted at the same time, best-effort cleanup on old threads, then the summary edit. A run
on a head that is already reviewed (`_complete`) posts nothing new but finishes what an earlier
run committed and left undone.

Three modes: the default reviews and posts; `--no-post` reviews (paid) and prints what it would
post; `--dry-run` sends no model call at all: it reads the PR, builds the workspace and prints the
token counts and the estimated cost (pipeline/dryrun.py), like `reviewbot review --dry-run`.

Runs that cannot work end with one line and no traceback: no Anthropic key (secrets are not given
to fork PRs), a read-only token (forks, Dependabot, `pull-requests: read`). For PRs from forks and
Dependabot these are expected and exit 0; for the repository's own PRs they are configuration
errors (README, "Exit codes"). The token is read from the environment only (never a flag, never
printed); results go to stdout, progress and the one-line errors to stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from reviewbot.config import Config, with_overrides
from reviewbot.domain.change import Change, ChangeMeta
from reviewbot.domain.enums import SEVERITY_RANK
from reviewbot.domain.events import Event, OnEvent
from reviewbot.domain.findings import Finding, reaches
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import (
    EXIT_API,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    APIError,
    ConfigError,
    InputError,
    MissingCredentials,
    Outcome,
    ReadOnlyToken,
    ReviewbotError,
    ToolInputError,
)
from reviewbot.github import conversation as conv
from reviewbot.github.actions import outputs, write_outputs, write_step_summary
from reviewbot.github.api import GitHubSettings, PostedComment, PostedReview, PullRequestApi, connect
from reviewbot.github.archive import github_repository
from reviewbot.github.bodies import (
    BodyFinding,
    CostState,
    InlineComment,
    SummaryText,
    UpdateText,
    body_block,
    latest_text,
    read_model,
    read_run_line,
    summary_body,
    withdrawn_body,
)
from reviewbot.github.event import (
    MANUAL,
    ActionsEnv,
    ConversationEvent,
    PullRequestEvent,
    manual_event,
    read_any_event,
)
from reviewbot.github.ignorefile import IgnoreFile, fetch_ignore, propose_if_repeated
from reviewbot.github.plan import Plan, Step, cleanup_steps, highest, open_findings, plan_run
from reviewbot.github.post import Done, Draft, post_review, run_steps
from reviewbot.github.prior import Prior, Scope, decide_scope, prior_lines, read_prior, without
from reviewbot.github.source import (
    BINARY_NOTE,
    OMITTED_NOTE,
    PullInfo,
    incremental_change,
    read_pull,
)
from reviewbot.github.thread_answer import answer_reply
from reviewbot.llm import providers
from reviewbot.llm.transport import Connect, Connection, connect_anthropic
from reviewbot.llm.usage import CallRecord
from reviewbot.output.redact import redact_result
from reviewbot.output.render import render, to_markdown, usage_line
from reviewbot.output.terminal import ProgressPrinter, progress_level
from reviewbot.pipeline import dryrun
from reviewbot.pipeline.keep import write_kept
from reviewbot.pipeline.metered import Metered
from reviewbot.pipeline.resume import redact_saved
from reviewbot.pipeline.review import run_review
from reviewbot.repo.tree import Repository
from reviewbot.secrets import hunk_shows_secret, known_secrets, redact_json, redact_output

# ------------------------------------------------------------------------------------ reporting


@dataclass
class Out:
    """Where the run reports: stderr lines, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY (when set)."""

    env: ActionsEnv
    quiet: bool
    verbose: bool
    known: tuple[str, ...] = ()         # the change's secrets: redacted from every line and the job summary
    extra: dict[str, str] = field(default_factory=dict)   # more outputs (the reactions' feedback)
    status: str = ""                    # the last status finished (a command's answer quotes it)
    failed: ReviewbotError | None = None    # the failure already reported (a nested run reports its own)

    def say(self, msg: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(f"reviewbot: {redact_output(msg, self.known)}", file=sys.stderr)

    def __post_init__(self) -> None:
        self.printer = ProgressPrinter(sys.stderr, progress_level(self.quiet, self.verbose))

    def progress(self, event: Event) -> None:
        """The review's on_event: the one progress printer, redacting what this run knows by now."""
        self.printer.known = self.known
        self.printer(event)

    def finish(self, title: str, status: str, out: dict[str, str], details: str = "") -> None:
        out = {**out, **self.extra}
        self.status = status
        if self.env.output:
            write_outputs(self.env.output, out, self.known)
        if self.env.step_summary:
            write_step_summary(self.env.step_summary, title, status, out, details, self.known)

    def fail(self, title: str, e: ReviewbotError, result: ReviewResult | None) -> None:
        """The job summary of a failed run says what the one-line error says, with the review when
        it was made before the failure."""
        if e is self.failed:
            return
        self.failed = e
        self.finish(title, f"Failed: {str(e).rstrip('.')}." + (" The review is below." if result else ""),
                    outputs(findings=len(result.findings) if result else 0, new=0,
                            highest_severity=highest(_severities(result.findings)) if result else "none",
                            calls=result.calls if result else (),
                            skipped="no-api-key" if isinstance(e, MissingCredentials) else "error"),
                    to_markdown(result) if result else "")


@contextmanager
def _failures(out: Out, title: str, result: ReviewResult | None = None) -> Iterator[None]:
    """A ReviewbotError in the block is reported (job summary, outputs) and raised on."""
    try:
        yield
    except ReviewbotError as e:
        out.fail(title, e, result)
        raise


@dataclass(frozen=True)
class Ran:
    """How a review run ended, and the review it made (None: skipped, or nothing to review)."""

    outcome: Outcome
    result: ReviewResult | None = None


def _skip(out: Out, title: str, reason: str, code: str) -> Ran:
    """A run that has nothing to do: one line, the outputs with its `skipped` code, exit 0."""
    out.say(f"{title}: {reason}", always=True)
    out.finish(title, f"Skipped: {reason}.", outputs(findings=0, new=0, highest_severity="none", calls=(),
                                                     skipped=code))
    return Ran(Outcome(EXIT_OK))


def _severities(findings: Iterable[Finding]) -> tuple[str, ...]:
    return tuple(sorted((f.severity for f in findings), key=lambda s: SEVERITY_RANK.get(s, 9)))


def _exit(severities: tuple[str, ...], fail_on: str | None, complete: bool) -> Outcome:
    if reaches(severities, fail_on):
        return Outcome(EXIT_FINDINGS)
    return Outcome(EXIT_OK if complete else EXIT_PARTIAL)


# ------------------------------------------------------------------------------------ the run


def run(args: argparse.Namespace, env: ActionsEnv, connect: Connect = connect_anthropic) -> Outcome:
    """One `reviewbot github` run: a review of the event's pull request, or an answer to a comment.
    `connect` opens the model transport (a test passes its own)."""
    out = Out(env, args.quiet, args.verbose)
    event = _event(args, env)
    title = f"{event.repository}#{event.number}"
    if isinstance(event, ConversationEvent):
        return _converse(args, env, out, event, title, connect)
    return review_pull(args, env, out, event, title, connect).outcome


def _event(args: argparse.Namespace, env: ActionsEnv) -> PullRequestEvent | ConversationEvent:
    if args.repo or args.pr:
        repository = args.repo or env.repository
        if not (repository and args.pr):
            raise ConfigError("--pr N is needed with --repo (and --repo OWNER/NAME with --pr, "
                              "unless GITHUB_REPOSITORY is set)")
        return manual_event(repository, args.pr)
    return read_any_event(args.event or env.event_path, env.event_name)


def pull_api(args: argparse.Namespace, env: ActionsEnv, repository: str, number: int) -> PullRequestApi:
    if not env.token:
        raise ConfigError("GITHUB_TOKEN is not set (the action passes github.token by default)")
    read_s, write_s = args.github_throttle
    settings = GitHubSettings(api_url=(args.api_url or env.api_url).rstrip("/"), token=env.token,
                              seconds_between_requests=read_s, seconds_between_writes=write_s, verbose=args.verbose)
    return PullRequestApi(connect(settings), settings, repository, number)


def _event_skip(args: argparse.Namespace, event: PullRequestEvent) -> tuple[str, str] | None:
    """(reason, code) when the event asks for no review."""
    if not event.wants_review:
        return f"nothing to do for the '{event.action}' action", "action"
    return _pull_skip(args, event.state, event.draft)


def _pull_skip(args: argparse.Namespace, state: str, draft: bool) -> tuple[str, str] | None:
    if state != "open":
        return "the pull request is not open", "closed"
    if draft and not args.review_drafts:
        return "draft pull request (mark it ready for review, or pass --review-drafts)", "draft"
    return None


def _credentials(args: argparse.Namespace, event: PullRequestEvent) -> tuple[str | None, str]:
    """(the Anthropic key, or None for a cloud provider; "") or (None, why the run is skipped).

    A cloud provider (the --provider flag, the Action's `provider` input) brings its own credential
    chain, checked here and again once the config is read; the Claude API needs its key before
    anything is fetched. Missing on a fork's PR (no secrets) is a skip; on the repository's own PR,
    MissingCredentials (exit 2)."""
    cloud = args.provider not in (None, "anthropic")
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
    if not api_key and not cloud:
        if event.restricted:
            return None, ("no ANTHROPIC_API_KEY: GitHub does not pass secrets to workflows of pull requests from "
                          "forks or Dependabot, so there is no review")
        raise MissingCredentials("ANTHROPIC_API_KEY is not set (add it as a repository secret and pass it to the "
                                 "action)")
    if cloud:
        try:
            providers.check_credentials(args.provider, os.environ, args.aws_profile)
        except ConfigError as e:
            if event.restricted:
                return None, (f"{e} (workflows of pull requests from forks or Dependabot get no secrets and no "
                              "OIDC token)")
            raise MissingCredentials(str(e)) from None
    return api_key, ""


@dataclass(frozen=True)
class _Reading:
    """What is on the PR before this run: the bot's earlier posts, the people's signals, the scope."""

    pull: PullInfo
    login: str
    prior: Prior                        # without the suppressed findings
    suppressed: frozenset[str]
    feedback: conv.Feedback
    paused: bool
    scope: Scope


def _read_pr(api: PullRequestApi, pull: PullInfo, out: Out, title: str, command: str) -> _Reading:
    login = api.login()
    prior = _read_prior(api, login, out, title)
    said = api.issue_comments() + api.review_comments()
    state = conv.read_state(said, login)
    fb = _feedback(api, prior, said)
    suppressed = state.suppressed | fb.down
    prior = without(prior, suppressed)
    scope = Scope("full") if command == "full-review" else decide_scope(prior, pull.head_sha)
    return _Reading(pull, login, prior, suppressed, fb, state.paused, scope)


@dataclass(frozen=True)
class _Source:
    """The pull request as a Change, with the base branch's config and what this run reviews."""

    pr_change: Change                   # the whole PR (plans and placements use it)
    change: Change                      # what is reviewed: the whole PR, or the commits since `since`
    since: str | None
    config: Config
    target: providers.Target
    connect: Connect                    # how the model is reached: opens the transport
    ignore: IgnoreFile
    rebuilt: frozenset[str]             # files whose patch GitHub omitted, rebuilt from their contents
    not_reviewed: tuple[tuple[str, str], ...]


def _read_source(args: argparse.Namespace, api: PullRequestApi, event: PullRequestEvent, r: _Reading,
                 out: Out, title: str, connect: Connect) -> _Source:
    pull = r.pull
    read = read_pull(api, pull, args.config)
    ignore = fetch_ignore(api, pull.base_sha)
    config = with_overrides(read.config, model=args.model, warmup=args.warmup, **providers.overrides(args))
    target = providers.resolve(config, os.environ)     # a model the platform lacks: one line, before any call
    config = providers.apply(config, target)
    cloud = args.provider not in (None, "anthropic")
    if target.platform.name != "anthropic" and not cloud:   # named by the base branch's config only
        providers.check_credentials(target, os.environ)
    pr_change = read.change(pull, event.repository, prior_lines(r.prior))
    out.known = known_secrets(pr_change)
    api.redact_with(out.known)               # every text posted from here on passes the redaction gate
    not_reviewed = tuple((f.path, "binary" if f.note == BINARY_NOTE else "patch omitted by GitHub")
                         for f in pr_change.files if f.note in (BINARY_NOTE, OMITTED_NOTE))
    change, since = pr_change, None
    if r.scope.kind == "incremental" and r.scope.since is not None and pr_change.files:
        comparison = api.compare(r.scope.since, pull.head_sha)
        if comparison is not None and comparison.is_fast_forward:
            change = incremental_change(pull, event.repository, comparison, read.files, r.scope.since,
                                        read.rules, prior_lines(r.prior))
            since = r.scope.since
            out.say(f"{title}: reviewing {len(comparison.commits)} commit(s) pushed since {since[:12]}")
        else:
            out.say(f"{title}: the history since {r.scope.since[:12]} was rewritten or merged; reviewing the whole PR")
    return _Source(pr_change, change, since, config, target, connect, ignore, read.rebuilt, not_reviewed)


def review_pull(args: argparse.Namespace, env: ActionsEnv, out: Out, event: PullRequestEvent, title: str,
                connect: Connect, command: str = "", api: PullRequestApi | None = None) -> Ran:
    """A review run. `command`: "review" or "full-review" when a person asked for it in a comment
    (pause does not apply; a full review ignores what was reviewed already). The read (`prepare`) and
    the post (`publish_review`) are the steps `reviewbot bulk --github` runs for each of its PRs."""
    with _failures(out, title):
        ready = prepare(args, env, out, event, title, connect, command, api)
        if isinstance(ready, Ran):
            return ready
        result = _review(args, ready, out)
        if result is not None:
            sys.stdout.write(render(result, args.format))
            out.say(usage_line(result))
    return publish_review(args, ready, result, out, title)


@dataclass(frozen=True)
class Ready:
    """A pull request read and ready for its paid review: what the post step needs afterwards."""

    api: PullRequestApi
    event: PullRequestEvent
    reading: _Reading
    source: _Source
    api_key: str | None


def prepare(args: argparse.Namespace, env: ActionsEnv, out: Out, event: PullRequestEvent, title: str,
            connect: Connect, command: str = "", api: PullRequestApi | None = None) -> Ran | Ready:
    """Everything before the paid review: the skip decisions, the PR and what the bot posted on it,
    the base branch's config and rules, the ignore file, the Change. A run with nothing to review
    ends here (a skip, an already reviewed head completed, a dry run) as a `Ran`. Failures are raised
    (the caller reports them: `_failures`)."""
    if (why := _event_skip(args, event)) is not None:
        return _skip(out, title, *why)
    if args.dry_run and args.format == "sarif":
        raise ConfigError("--dry-run prints markdown or json, not sarif")
    api_key, no_key = _credentials(args, event)
    if no_key:
        return _skip(out, title, no_key, "no-api-key")
    api = api or pull_api(args, env, event.repository, event.number)
    pull = api.pull()
    if (why := _pull_skip(args, pull.state, pull.draft)) is not None:
        return _skip(out, title, *why)
    r = _read_pr(api, pull, out, title, command)
    out.extra["feedback"] = r.feedback.output()
    if r.paused and not command and event.name != MANUAL:
        return _skip(out, title, "automatic reviews are paused on this pull request (comment `/reviewbot "
                     "resume`)", "paused")
    if r.scope.kind == "skip":
        if args.dry_run or args.no_post:
            return _already_reviewed(args, out, title, r)
        return Ran(_complete(api, r.prior, r.pull, r.login, out, title, args))
    src = _read_source(args, api, event, r, out, title, connect)
    if not src.pr_change.files:
        return _skip(out, title, "no changed files", "no-files")
    if args.dry_run:
        return Ran(_dry_run(args, api, src, api_key, out, title, r))
    return Ready(api, event, r, src, api_key)


def publish_review(args: argparse.Namespace, ready: Ready, result: ReviewResult | None, out: Out, title: str,
                   recheck_head: bool = False) -> Ran:
    """After the paid review (`result`, redacted; None when the reviewed commits change no file):
    plan, post (unless --no-post) and report. `recheck_head`: read the PR again first, so a head
    that moved while the review ran is said (the review is posted as the review of the head it read,
    never of the new one: the next run reviews the commits pushed since)."""
    with _failures(out, title, result):
        moved = None
        if recheck_head and not args.no_post:
            now = ready.api.head_now()
            moved = now if now != ready.reading.pull.head_sha else None
        return Ran(_plan_and_post(args, ready.api, ready.event, ready.reading, ready.source, result, out, title,
                                  moved), result)


def _review(args: argparse.Namespace, ready: Ready, out: Out) -> ReviewResult | None:
    """The paid review (None when the reviewed commits change no file of the PR), redacted before
    anything is planned or posted."""
    src = ready.source
    if not src.change.files:
        return None
    result = _run_pipeline(args, src.change, src.config, ready.api_key, out, src.target, src.connect, ready.api)
    return redacted(result, out)


def redacted(result: ReviewResult, out: Out) -> ReviewResult:
    """The review with every secret of the change (and those it found) redacted: what is planned,
    printed and posted."""
    return redact_result(replace(result, secrets=tuple(dict.fromkeys(result.secrets + out.known))))


def _plan_and_post(args: argparse.Namespace, api: PullRequestApi, event: PullRequestEvent, r: _Reading,
                   src: _Source, result: ReviewResult | None, out: Out, title: str, moved: str | None = None
                   ) -> Outcome:
    """Plan what to post from the review, post it (unless --no-post) and report. `moved`: the PR's
    head now, when it is no longer the head that was reviewed (publish_review)."""
    config, prior, pull = src.config, r.prior, r.pull
    calls: tuple[CallRecord, ...] = result.calls if result else ()
    complete = result.complete if result else True
    kept = tuple(f for f in (result.findings if result else ()) if f.fingerprint not in r.suppressed
                 and src.ignore.reason(f.path, f.fingerprint, f.title) is None)
    plan = plan_run(kept, src.pr_change, prior, pull.head_sha, result is not None and result.complete,
                    config.inline_min_severity, config.max_inline_comments, config.delete_fixed_comments,
                    src.rebuilt)
    plan = _secret_hunks_to_body(plan, src.pr_change, out.known)
    details = to_markdown(result) if result else ""

    if args.no_post:
        out.say(f"--no-post: would post {len(plan.inline)} inline comment(s) and {len(plan.body_new)} finding(s) "
                f"in the body ({plan.repeated} already posted, {plan.folded} repeat(s) folded), settle "
                f"{len(plan.gone)} fixed thread(s) and reopen {len(plan.reopen)}", always=True)
        sev = open_findings(prior, plan, plan.carried + plan.body_new, prior.omitted)
        out.finish(title, "Not posted (--no-post).", outputs(findings=len(sev), new=plan.new_count,
                   highest_severity=highest(sev), calls=calls, skipped="no-post"), details)
        return _exit(sev, args.fail_on, complete)

    try:
        o = _publish(api, plan, prior, pull, result, src.since, config.model, r.login, src.not_reviewed,
                     r.feedback.line())
    except ReadOnlyToken as e:
        sev = _severities(result.findings if result else ())
        out.say(f"cannot post on {title}: {e}; the review is in the job summary", always=True)
        out.finish(title, f"Not posted: {e}. The review is below.",
                   outputs(findings=len(sev), new=plan.new_count, highest_severity=highest(sev), calls=calls,
                           skipped="read-only-token"), details)
        if reaches(sev, args.fail_on):
            return Outcome(EXIT_FINDINGS)
        return Outcome(EXIT_OK if event.restricted else EXIT_API)

    if o.raced is not None:
        sev = open_findings(o.raced, None, o.raced.all_body_findings, o.raced.omitted)
        if o.superseded:
            status = (f"Another run reviewed {o.superseded[:12]} after this run read the pull request; this "
                      f"review of {pull.head_sha[:12]} is older and was not posted.")
        else:
            status = (f"Another run reviewed {pull.head_sha[:12]} at the same time and posted first"
                      + ("; this run's duplicate review was withdrawn." if o.withdrawn else "; nothing posted."))
        out.say(f"{title}: {status}", always=True)
        out.finish(title, status, outputs(findings=len(sev), new=0, highest_severity=highest(sev),
                                          calls=calls, review_url=o.url, skipped="already-reviewed"), details)
        return _exit(sev, args.fail_on, complete)

    sev = open_findings(prior, plan, o.body_findings, prior.omitted, o.inline)
    status = (f"Posted {o.url or 'the review'}: {plan.new_count} new finding(s) ({len(o.inline)} inline), "
              f"{plan.repeated} already posted, {plan.folded} repeat(s) folded, "
              + _cleanup_status(o.cleanup))
    if moved:
        status = (f"The head moved to {moved[:12]} while the review ran: this is the review of {pull.head_sha[:12]}, "
                  f"posted on that commit (the next run reviews the commits pushed since). " + status)
    if o.error:
        status += f" The summary was not updated ({o.error.rstrip('.')}); the next run completes it."
    out.say(status, always=True)
    for _, why in o.cleanup.failed:
        out.say(f"warning: {why} (the next run retries it)", always=True)
    if o.cleanup.forbidden:
        out.say(f"warning: {o.cleanup.forbidden}: fixed threads were answered, not resolved (grant the workflow "
                "'contents: write' to let reviewbot resolve them)", always=True)
    out.finish(title, status, outputs(findings=len(sev), new=plan.new_count, highest_severity=highest(sev),
                                      calls=calls, review_url=o.url), details)
    if o.error:
        return Outcome(EXIT_API)
    return _exit(sev, args.fail_on, complete)


def _secret_hunks_to_body(plan: Plan, pr_change: Change, known: tuple[str, ...]) -> Plan:
    """Inline comments whose diff hunk (which GitHub stores and shows with each comment) would hold a
    secret of the change go in the review body instead."""
    moved = tuple(c for c in plan.inline if hunk_shows_secret(pr_change, c.path, c.line, known))
    if not moved:
        return plan
    why = "in the body: the diff hunk of this line shows a secret"
    return replace(plan, inline=tuple(c for c in plan.inline if c not in moved),
                   body_new=plan.body_new + tuple(body_block(c.finding, why) for c in moved))


def _feedback(api: PullRequestApi, prior: Prior, said: tuple[PostedComment, ...]) -> conv.Feedback:
    """The 👍/👎 of people with write access on the bot's inline comments (read only where GitHub's
    reaction summary shows any)."""
    reacted = {t.comment.id: api.reactions(t.comment.id) for t in prior.threads if any(t.comment.thumbs)}
    return conv.feedback(prior.threads, reacted, conv.trusted_reactors(reacted, said, api.can_write))


def _cleanup_status(d: Done) -> str:
    parts = [f"{d.count('fixed')} fixed thread(s) settled"]
    if d.count("delete"):
        parts.append(f"{d.count('delete')} fixed comment(s) deleted")
    if d.count("reopen"):
        parts.append(f"{d.count('reopen')} thread(s) reopened")
    if d.failed:
        parts.append(f"{len(d.failed)} cleanup step(s) failed")
    return ", ".join(parts) + "."


def _read_prior(api: PullRequestApi, login: str, out: Out, title: str) -> Prior:
    """What the bot posted before, with the threads' resolution (GraphQL). Without GraphQL (an
    error, a rate limit) the run goes on: it answers fixed threads but cannot resolve them."""
    try:
        threads = api.threads()
    except APIError as e:
        out.say(f"warning: {title}: {e}; fixed threads are answered but not resolved this run", always=True)
        threads = ()
    return read_prior(api.reviews(), api.review_comments(), login, threads)


# ------------------------------------------------------------------------------------ no review needed


def _already_reviewed(args: argparse.Namespace, out: Out, title: str, r: _Reading) -> Ran:
    """--dry-run or --no-post on a head that is reviewed already: nothing to review, nothing written
    (a normal run would complete what an earlier run left undone: `_complete`)."""
    severities = open_findings(r.prior, None, r.prior.all_body_findings, r.prior.omitted)
    flag = "--dry-run" if args.dry_run else "--no-post"
    out.say(f"{title}: {r.pull.head_sha[:12]} is already reviewed; nothing to review ({flag}: nothing posted).",
            always=True)
    out.finish(title, f"Already reviewed `{r.pull.head_sha[:12]}`: nothing to review.",
               outputs(findings=len(severities), new=0, highest_severity=highest(severities), calls=(),
                       review_url=r.prior.summary.html_url if r.prior.summary else "", skipped="already-reviewed"))
    return Ran(Outcome(EXIT_FINDINGS if reaches(severities, args.fail_on) else EXIT_OK))


def _complete(api: PullRequestApi, prior: Prior, pull: PullInfo, login: str, out: Out, title: str,
              args: argparse.Namespace) -> Outcome:
    """The head is reviewed already: post nothing new, but finish what an earlier run committed and
    could not complete (cleanup on old threads, the summary edit, a duplicate to withdraw)."""
    head = pull.head_sha
    steps = cleanup_steps(prior, prior.to_settle, prior.to_reopen, head)
    hide = _superseded(prior, None)
    cleanup = run_steps(api, steps + hide, login)
    error = ""
    if prior.pending and prior.summary is not None:
        last = prior.pending[-1]
        try:
            api.edit_review(prior.summary.id, _summary(prior, pull, prior.all_body_findings, (), (), prior.cost,
                                                       last.review.id, cleanup, latest=last.latest,
                                                       verdict=prior.verdict, overview=prior.overview,
                                                       model="", n_inline=0,
                                                       run_line=read_run_line(last.review.body)))
        except APIError as e:
            error = str(e)
    severities = open_findings(prior, None, prior.all_body_findings, prior.omitted)
    finished = ""
    if steps or hide or prior.pending:
        finished = (" Completed the previous run: " + _cleanup_status(cleanup)
                    + (" Summary updated." if prior.pending and not error else ""))
    out.say(f"{title}: {head[:12]} is already reviewed; nothing to post.{finished}", always=True)
    if error:
        out.say(f"warning: {error} (the next run retries it)", always=True)
    out.finish(title, f"Already reviewed `{head[:12]}`: nothing new to post.{finished}",
               outputs(findings=len(severities), new=0, highest_severity=highest(severities), calls=(),
                       review_url=prior.summary.html_url if prior.summary else "", skipped="already-reviewed"))
    if error:
        return Outcome(EXIT_API)
    return Outcome(EXIT_FINDINGS if reaches(severities, args.fail_on) else EXIT_OK)


# ------------------------------------------------------------------------------------ the dry run


def _dry_run(args: argparse.Namespace, api: PullRequestApi, src: _Source, api_key: str | None, out: Out,
             title: str, r: _Reading) -> Outcome:
    """No model call: the workspace, the token counts of every first request (count_tokens, free;
    a local estimate on a platform without it) and the estimated cost, on stdout; nothing posted."""
    change, config = src.change, src.config
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        repo = pull_repository(api, change, config, Path(tmp) / "objects.git", out)
        workspace = args.keep_workspace or Path(tmp) / "ws"
        plan = asyncio.run(dryrun.count(change, config, workspace, _connection(config, api_key, src.target),
                                        src.connect, src.target, out.progress, repo))
    if args.format == "json":
        sys.stdout.write(json.dumps(redact_json(dryrun.to_json(plan), out.known), indent=2, ensure_ascii=False)
                         + "\n")
    else:
        sys.stdout.write(redact_output(dryrun.to_markdown(plan), out.known))
    e = dryrun.estimate(plan)
    scope = f"the commits since {src.since[:12]}" if src.since else "the whole pull request"
    status = (f"Dry run: {scope} would cost about ${e.cost_with_cache:.4f} (without caching "
              f"${e.cost_without_cache:.4f}); nothing reviewed, nothing posted.")
    out.say(f"{title}: {status}", always=True)
    severities = open_findings(r.prior, None, r.prior.all_body_findings, r.prior.omitted)
    out.finish(title, status, outputs(findings=len(severities), new=0, highest_severity=highest(severities),
                                      calls=(), skipped="dry-run"))
    return Outcome(EXIT_OK)


# ------------------------------------------------------------------------------------ the review


def _connection(config: Config, api_key: str | None, target: providers.Target | None) -> Connection:
    return Connection.of(config, api_key, target)


async def _pipeline(change: Change, config: Config, api_key: str | None, workspace: Path,
                    on_event: OnEvent, connect: Connect, target: providers.Target | None = None,
                    known: tuple[str, ...] | None = None, repo: Repository | None = None,
                    keep_state: bool = False, resume: bool = False) -> ReviewResult:
    async with connect(_connection(config, api_key, target)) as inner:
        return await run_review(change, config, Metered(inner, on_event), workspace, on_event, known=known, repo=repo,
                                keep_state=keep_state, resume=resume)


def _run_pipeline(args: argparse.Namespace, change: Change, config: Config, api_key: str | None, out: Out,
                  target: providers.Target, connect: Connect, api: PullRequestApi | None = None) -> ReviewResult:
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        repo = pull_repository(api, change, config, Path(tmp) / "objects.git", out) if api is not None else None
        if args.state_dir:
            return _review_with_state(args.state_dir, change, config, api_key, out, target, connect, repo)
        if args.keep_workspace:                    # as `reviewbot review --keep-workspace` keeps it
            try:
                result = asyncio.run(_pipeline(change, config, api_key, args.keep_workspace, out.progress, connect,
                                               target, out.known, repo, keep_state=True))
            finally:
                redact_saved(args.keep_workspace, out.known)
            write_kept(args.keep_workspace, result)
            return result
        return asyncio.run(_pipeline(change, config, api_key, Path(tmp) / "ws", out.progress, connect, target,
                                     out.known, repo))


def state_name(meta: ChangeMeta) -> str:
    """The state directory of one change (its base and head): a re-run of the same review finds it."""
    return f"{meta.base_sha[:12]}..{meta.head_sha[:12]}"


def _review_with_state(state_dir: Path, change: Change, config: Config, api_key: str | None, out: Out,
                       target: providers.Target | None, connect: Connect, repo: Repository | None) -> ReviewResult:
    """The review with every finished reviewer saved under state_dir, reusing what an earlier run of
    the same change saved (a failed post, a cancelled job): nothing paid for is paid again. A saved
    run of another configuration, or one cut before it saved anything, is started afresh."""
    ws = state_dir / state_name(change.meta)
    resume = (ws / "state" / "run.json").is_file()
    if resume:
        try:
            result = asyncio.run(_pipeline(change, config, api_key, ws, out.progress, connect, target, out.known, repo,
                                           keep_state=True, resume=True))
            redact_saved(ws, out.known)
            return result
        except InputError as e:                    # refused before any call: a different change or config
            out.say(f"saved state in {ws} not reused ({e}); reviewing afresh")
    shutil.rmtree(ws, ignore_errors=True)
    ws.parent.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_pipeline(change, config, api_key, ws, out.progress, connect, target, out.known, repo,
                                     keep_state=True))
    finally:
        redact_saved(ws, out.known)


def pull_repository(api: PullRequestApi, change: Change, config: Config, git_dir: Path, out: Out) -> Repository | None:
    """The PR's head and base from their tarballs (no checkout); without them the review goes on
    with the patches alone, and says so."""
    if not config.repository:
        return None
    try:
        return github_repository(api, change.meta.head_sha, change.meta.base_sha, git_dir)
    except (APIError, ToolInputError) as e:
        out.say(f"repository context unavailable, reviewing the patches alone: {e}")
        return None


# ------------------------------------------------------------------------------------ posting


@dataclass(frozen=True)
class Published:
    """What the post got to."""

    url: str = ""
    body_findings: tuple[BodyFinding, ...] = ()
    inline: tuple[InlineComment, ...] = ()     # the inline comments posted
    cleanup: Done = field(default_factory=Done)
    error: str = ""                            # the summary edit failed (the review is posted)
    raced: Prior | None = None                 # another run posted this head's review first (or a newer one)
    withdrawn: bool = False
    superseded: str | None = None              # the head another run reviewed meanwhile, when not this one


def _superseded(prior: Prior, new: PostedReview | None) -> tuple[Step, ...]:
    """The bot's update reviews a newer one supersedes: hidden (minimized as outdated), not deleted."""
    records = [r.review for r in prior.folded[-1:] + prior.pending] + ([new] if new else [])
    return tuple(Step("hide", r.id, r.node_id, "OUTDATED") for r in records[:-1] if r.node_id)


def _summary(prior: Prior, pull: PullInfo, findings: tuple[BodyFinding, ...], calls: tuple[CallRecord, ...],
             not_reviewed: tuple[tuple[str, str], ...], cost: CostState, upto: int, cleanup: Done | None, *,
             latest: str | None, verdict: str | None, overview: str | None, model: str, n_inline: int,
             complete: bool = True, settle: tuple[int, ...] = (), reopen: tuple[tuple[int, str], ...] = (),
             run_line: str = "", feedback: str = "") -> str:
    """The summary's body after this run (every argument is a value; nothing is read here)."""
    failed = cleanup.failed if cleanup else ()
    settle = tuple(dict.fromkeys(tuple(settle) + tuple(s.target for s, _ in failed if s.kind in ("fixed", "delete"))))
    reopen = tuple(dict.fromkeys(tuple(reopen) + tuple(
        next((x for x in prior.to_reopen if x[0] == s.target), (s.target, "high")) for s, _ in failed
        if s.kind == "reopen")))
    gone = set(settle) | {s.target for s in (cleanup.done if cleanup else ()) if s.kind in ("fixed", "delete")}
    open_inline = sum(1 for t in prior.threads if not t.fixed and not t.resolved and t.comment.id not in gone)
    return summary_body(overview=overview, latest=latest, verdict=verdict, complete=complete,
                        open_inline=open_inline + n_inline, findings=findings, calls=calls,
                        model=model or (read_model(prior.summary.body) if prior.summary else ""),
                        cost=cost, head_sha=pull.head_sha,
                        prior_omitted=prior.omitted, upto=upto, settle=settle, reopen=reopen,
                        not_reviewed=not_reviewed, run_line=run_line, feedback=feedback)


def _raced(api: PullRequestApi, login: str, head: str, before: str | None) -> Prior | None:
    """What is on the PR when another run committed meanwhile (since `before` was the reviewed head):
    this head, or another one (a review of this head posted now would then be out of order: the
    newest committed run is what the next run starts from), else None."""
    now = read_prior(api.reviews(), (), login)
    return now if now.reviewed == head or now.reviewed != before else None


def _publish(api: PullRequestApi, plan: Plan, prior: Prior, pull: PullInfo, result: ReviewResult | None,
             since: str | None, model: str, login: str, not_reviewed: tuple[tuple[str, str], ...],
             feedback: str = "") -> Published:
    """Send the plan, in the order that makes every step safe to die after:

    1. the commit point: the review (or, with nothing new to post, the summary edit), re-checked
       right before (another run may have reviewed this head meanwhile: then nothing is posted) and
       reconciled right after (two runs that posted at once: the later review withdraws itself);
    2. best-effort cleanup on old threads (reply "Fixed in", resolve, reopen, hide superseded);
    3. the summary edit, folding this run in. A failure after 1 loses nothing: the review's own
       marker records the run, and the next run completes 2 and 3."""
    head = pull.head_sha
    key = f'"head":"{head}"'                  # in this run's summary/update marker only
    calls: tuple[CallRecord, ...] = result.calls if result else ()
    verdict = (result.verdict if result else None) or prior.verdict
    complete = result.complete if result else True
    cost = prior.cost.plus(calls)

    api.wait_for_rate(3 + len(plan.steps))
    if (other := _raced(api, login, head, prior.reviewed)) is not None:
        return Published(other.summary.html_url if other.summary else "", raced=other,
                         superseded=other.reviewed if other.reviewed != head else None)

    if prior.summary is None:                 # the first review: its body is the summary
        first = SummaryText(overview=result.overview if result else None, verdict=verdict, complete=complete,
                            carried=plan.carried, calls=calls, model=model, cost=cost, head_sha=head,
                            prior_omitted=prior.omitted, not_reviewed=not_reviewed, feedback=feedback)
        posted, final = post_review(api, Draft(head, plan.inline, plan.body_new, first, key), login)
        if (loser := _reconcile(api, posted, login)) is not None:
            return loser
        cleanup = run_steps(api, plan.steps, login)
        return Published(posted.html_url, plan.carried + final.findings, final.comments, cleanup)

    incremental = since is not None or result is None
    latest = latest_text(result.overview if result else None, prior.reviewed or head, head,
                         reviewed=result is not None) if incremental else None
    overview = prior.overview if incremental else (result.overview if result else None)
    url, new = prior.summary.html_url, None
    final_findings: tuple[BodyFinding, ...] = ()
    inline: tuple[InlineComment, ...] = ()
    if plan.new_count:
        update = UpdateText(since=since or prior.reviewed or head, head_sha=head, calls=calls, model=model,
                            prev=prior.reviewed, latest=latest, verdict=verdict, settle=plan.settle,
                            reopen=plan.reopen, not_reviewed=not_reviewed)
        new, final = post_review(api, Draft(head, plan.inline, plan.body_new, update, key), login)
        if (loser := _reconcile(api, new, login)) is not None:
            return loser
        url, final_findings, inline = new.html_url, final.findings, final.comments
    carried = {b.fingerprint for b in plan.carried}
    body_findings = plan.carried + tuple(b for b in final_findings if b.fingerprint not in carried)
    upto = new.id if new else (prior.pending[-1].review.id if prior.pending else prior.upto)

    def summary(cleanup: Done | None) -> str:
        return _summary(prior, pull, body_findings, calls, not_reviewed, cost, upto, cleanup, latest=latest,
                        verdict=verdict, overview=overview, model=model, n_inline=len(inline), complete=complete,
                        settle=() if new else plan.settle, reopen=() if new else plan.reopen, feedback=feedback)

    if new is None:                           # nothing new to post: the summary edit is the commit point
        api.edit_review(prior.summary.id, summary(None))
        cleanup = run_steps(api, plan.steps + _superseded(prior, None), login)
        return Published(url, body_findings, inline, cleanup)
    cleanup = run_steps(api, plan.steps + _superseded(prior, new), login)
    try:
        api.edit_review(prior.summary.id, summary(cleanup))
    except APIError as e:
        return Published(url, body_findings, inline, cleanup, error=str(e))
    return Published(url, body_findings, inline, cleanup)


def _reconcile(api: PullRequestApi, posted: PostedReview, login: str) -> Published | None:
    """Right after posting: did another run post the same review at once? The first one stays; this
    (later) one withdraws its comments, keeps a one-line body and is hidden as a duplicate."""
    now = read_prior(api.reviews(), api.review_comments(), login)
    if posted.id not in {r.id for r in now.duplicates}:
        return None
    winner = now.summary if now.summary and now.summary.commit_id == posted.commit_id and (
        not now.pending or now.pending[-1].head != posted.commit_id) else now.pending[-1].review
    mine = tuple(Step("withdraw", c.id) for c in now.dup_comments if c.review_id == posted.id)
    run_steps(api, mine, login)
    api.edit_review(posted.id, withdrawn_body(winner))
    if posted.node_id:
        run_steps(api, (Step("hide", posted.id, posted.node_id, "DUPLICATE"),), login)
    after = read_prior(api.reviews(), api.review_comments(), login)
    return Published(winner.html_url, raced=after, withdrawn=True)


# ------------------------------------------------------------------------------------ the conversation


def _converse(args: argparse.Namespace, env: ActionsEnv, out: Out, event: ConversationEvent, title: str,
              connect: Connect) -> Outcome:
    """A person wrote on the PR: a command, or a reply in one of the bot's threads. Only people with
    write access are heard; a comment already answered (a re-run of the event) gets nothing new."""
    with _failures(out, title):
        if not event.wants_answer:
            return _skip(out, title, f"nothing to do for the '{event.action}' action of {event.name}",
                         "action").outcome
        command = conv.parse_command(event.body) if event.in_reply_to is None else None
        reply = event.name == "pull_request_review_comment" and event.in_reply_to is not None
        if command is None and not reply:
            return _skip(out, title, "no /reviewbot command in the comment", "no-command").outcome
        if not event.trusted:
            return _skip(out, title, f"{event.login or 'the author'} ({event.association}) has no write access to "
                         "the repository; ignored", "not-collaborator").outcome
        api = pull_api(args, env, event.repository, event.number)
        try:
            return _converse_with(args, env, out, event, title, api, connect)
        except ReadOnlyToken as e:
            # a fork's PR: its review-comment and review events run with a read-only token, like pull_request
            return _skip(out, title, f"cannot answer: {e}", "read-only-token").outcome


def _converse_with(args: argparse.Namespace, env: ActionsEnv, out: Out, event: ConversationEvent, title: str,
                   api: PullRequestApi, connect: Connect) -> Outcome:
    command = conv.parse_command(event.body) if event.in_reply_to is None else None
    login = api.login()
    if event.login == login:
        return _skip(out, title, "the bot's own comment", "own-comment").outcome
    issue_comments, review_comments = api.issue_comments(), api.review_comments()
    state = conv.read_state(issue_comments + review_comments, login)
    if event.comment_id in state.answered:
        return _skip(out, title, f"comment {event.comment_id} is answered already; nothing new to post",
                     "already-answered").outcome
    if command is None:
        return _reply(args, api, event, login, review_comments, out, title, state, connect)

    if event.name == "issue_comment":
        api.react(event.comment_id, "eyes")
    name = command.name
    if name in ("review", "full-review"):
        pull = api.pull()
        pr_event = PullRequestEvent(name=event.name, action=MANUAL, repository=event.repository,
                                    number=event.number, head_sha=pull.head_sha, base_sha=pull.base_sha,
                                    head_repository=pull.head_repository, draft=pull.draft, state=pull.state,
                                    author=pull.author, sender=event.login)
        ran = review_pull(args, env, out, pr_event, title, connect, command=name, api=api)
        what = "A full review" if name == "full-review" else "A review of the new commits"
        text = f"{what} of `{pull.head_sha[:12]}`: {conv.title_of(out.status, 1000)}"
        with _failures(out, title, ran.result):
            _answer(api, conv.answer(text, event.comment_id), event.comment_id, login)
        return ran.outcome
    if name in ("pause", "resume"):
        paused = name == "pause"
        text = ("Automatic reviews are paused on this pull request; `/reviewbot review` still reviews on demand, "
                "`/reviewbot resume` restarts them." if paused else
                "Automatic reviews are back on for this pull request.")
        _answer(api, conv.answer(text, event.comment_id, pause=paused), event.comment_id, login)
        status = "paused" if paused else "resumed"
    elif name == "ignore":
        try:
            threads = api.threads()
        except APIError:
            threads = ()                      # no GraphQL: the finding is suppressed, its thread stays open
        prior = read_prior(api.reviews(), review_comments, login, threads)
        findings = [(t.fingerprint, t.title) for t in prior.threads] + [
            (b.fingerprint, b.title) for b in prior.all_body_findings]
        hit = conv.match_finding(command.arg, [f for f in findings if f[0] not in state.suppressed])
        if hit is None:
            text = (f"No single open finding matches `{conv.title_of(command.arg)}`: give its fingerprint or words "
                    "of its title only it has.")
            _answer(api, conv.answer(text, event.comment_id), event.comment_id, login)
            status = "no match"
        else:
            fp, ftitle = hit
            _resolve(api, prior, fp)
            text = (f"Ignoring **{conv.title_of(ftitle)}** (`{fp[:12]}`) on this pull request from now on.\n\n"
                    + propose_if_repeated(api, login, fp, ftitle, f"dismissed by {event.login} on #{event.number}"))
            _answer(api, conv.answer(text, event.comment_id, suppress=(fp,)), event.comment_id, login)
            status = f"suppressed {fp[:12]}"
    elif name == "help":
        _answer(api, conv.answer(conv.HELP, event.comment_id), event.comment_id, login)
        status = "help posted"
    else:
        _answer(api, conv.answer("I do not know that command.\n\n" + conv.HELP, event.comment_id),
                event.comment_id, login)
        status = "unknown command"
    out.say(f"{title}: /reviewbot {name}: {status}", always=True)
    out.finish(title, f"/reviewbot {name}: {status}.", outputs(findings=0, new=0, highest_severity="none",
                                                              calls=(), skipped=""))
    return Outcome(EXIT_OK)


def _answer(api: PullRequestApi, body: str, re_id: int, login: str) -> None:
    """One answer comment; a retry first checks that the answer did not land already."""
    key = f'"re":{re_id}'

    def landed() -> PostedComment | None:
        return next((c for c in api.issue_comments() if c.author == login and key in c.body), None)
    api.comment(body, landed)


def _resolve(api: PullRequestApi, prior: Prior, fingerprint: str) -> None:
    """Resolve the bot's thread of a finding, best effort (the suppression holds either way)."""
    for t in prior.threads:
        if t.fingerprint == fingerprint and t.node and not t.resolved:
            try:
                api.resolve_thread(t.node)
            except APIError:
                pass                          # a token without contents: write; the finding stays suppressed


def _reply(args: argparse.Namespace, api: PullRequestApi, event: ConversationEvent, login: str,
           review_comments: tuple[PostedComment, ...], out: Out, title: str, state: conv.State,
           connect: Connect) -> Outcome:
    """A reply in a review thread: in one of the bot's threads, a dismissal resolves it and silences
    the finding on this PR; a question or an objection gets one answer (github/thread_answer.py)."""
    try:
        threads = api.threads()
    except APIError:
        threads = ()
    prior = read_prior(api.reviews(), review_comments, login, threads)
    thread = next((t for t in prior.threads if t.comment.id == event.in_reply_to), None)
    if thread is None:
        return _skip(out, title, "a reply in a thread that is not the bot's", "not-bot-thread").outcome
    if thread.fingerprint in state.suppressed:
        return _skip(out, title, "this thread's finding is suppressed already; the bot answers once per thread",
                     "already-answered").outcome
    if not conv.is_dismissal(event.body):             # a question or an objection: one answer per thread
        return answer_reply(api, args, event, thread, prior, state, login, out, title,
                            lambda why, code: _skip(out, title, why, code).outcome, connect)
    api.react(event.comment_id, "+1", review_comment=True)
    _resolve(api, prior, thread.fingerprint)
    text = ("Understood: this finding is resolved and will not be reported again on this pull request.\n\n"
            + propose_if_repeated(api, login, thread.fingerprint, thread.title,
                                  f"dismissed by {event.login} on #{event.number}"))
    key = f'"re":{event.comment_id}'

    def landed() -> PostedComment | None:
        return next((c for c in api.review_comments() if c.author == login and key in c.body), None)
    api.reply(thread.comment.id, conv.answer(text, event.comment_id, suppress=(thread.fingerprint,)), landed)
    status = f"finding {thread.fingerprint[:12]} dismissed by {event.login}: thread resolved, suppressed"
    out.say(f"{title}: {status}", always=True)
    out.finish(title, status + ".", outputs(findings=0, new=0, highest_severity="none", calls=(), skipped=""))
    return Outcome(EXIT_OK)
