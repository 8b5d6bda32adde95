"""`reviewbot github`: review a GitHub pull request and post one review (the GitHub Action's command).

Reads the `pull_request` event (GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN),
fetches the PR through PyGithub into the same `Change` the CLI builds from git, runs the same
pipeline, and publishes through reviewbot.github.publish. Findings count, highest severity, cost
and cache hit rate go to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY (through github.outgoing, like
everything posted).

Posting (`_publish`) is ordered so that a failure or a kill at any point leaves a state the next
run completes without duplicating: re-check, post the review (the commit point), reconcile with a
run that posted at the same time, best-effort cleanup on old threads, then the summary edit. A run
on a head that is already reviewed (`_complete`) posts nothing new but finishes what an earlier
run committed and left undone.

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
from dataclasses import dataclass, field, replace
from pathlib import Path

from reviewbot.config import WARMUP_STRATEGIES, with_overrides
from reviewbot.domain.findings import SEVERITIES, SEVERITY_RANK, reaches
from reviewbot.errors import (
    EXIT_API,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    APIError,
    ConfigError,
    InputError,
    ReviewbotError,
    ToolInputError,
)
from reviewbot.github import conversation as conv
from reviewbot.github import publish as pub
from reviewbot.github.api import GitHubSettings, PostedReview, PullRequestApi, ReadOnlyToken, connect
from reviewbot.github.archive import github_repository
from reviewbot.github.event import (
    MANUAL,
    ActionsEnv,
    ConversationEvent,
    PullRequestEvent,
    manual_event,
    read_any_event,
)
from reviewbot.github.ignorefile import fetch_ignore, proposal
from reviewbot.github.outgoing import outgoing
from reviewbot.github.source import (
    BINARY_NOTE,
    OMITTED_NOTE,
    fetch_base,
    fetch_omitted,
    file_change,
    incremental_change,
    pull_change,
)
from reviewbot.llm import providers
from reviewbot.llm.transport import Transport, client_from_env
from reviewbot.llm.usage import usage_json
from reviewbot.output.redact import redact_result
from reviewbot.output.render import FORMATS, render, to_markdown, usage_line
from reviewbot.pipeline.resume import redact_saved
from reviewbot.pipeline.review import ReviewResult, run_review
from reviewbot.secrets import hunk_shows_secret, known_secrets, redact_output

STEP_SUMMARY_MAX = 900_000          # GitHub keeps at most 1 MiB of a step's summary


def _throttle(text: str) -> tuple[float, float]:
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SECONDS or READ,WRITE seconds, got {text!r}") from None
    if len(values) not in (1, 2) or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected SECONDS or READ,WRITE seconds, got {text!r}")
    return (values[0], values[-1])


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(
        "github", help="review a GitHub pull request and post one review (for GitHub Actions)",
        description="Review the pull request of a GitHub Actions pull_request event (or --repo/--pr) and post "
                    "one review with inline comments. The token comes from GITHUB_TOKEN, the Anthropic key from "
                    "ANTHROPIC_API_KEY.",
        epilog=f"exit codes: 0 posted, or nothing to do (already reviewed, draft, closed, no review asked; a fork or "
               f"Dependabot PR without a key or with a read-only token); {EXIT_FINDINGS} --fail-on reached by a finding "
               "open on the PR; 2 configuration (key or token missing on the repository's own PR, bad flag or "
               "config); 3 the event cannot be read; 4 GitHub or Anthropic failed or refused the credentials, or the "
               f"token is read-only on the repository's own PR; {EXIT_PARTIAL} partial review (posted).")
    g.add_argument("--event", metavar="FILE", help="the event payload (default: $GITHUB_EVENT_PATH)")
    g.add_argument("--repo", metavar="OWNER/NAME", help="with --pr: review that PR as it is now, without an event "
                   "(default: $GITHUB_REPOSITORY)")
    g.add_argument("--pr", type=int, metavar="N", help="the pull request number to review instead of the event's")
    g.add_argument("--api-url", help="GitHub API URL (default: $GITHUB_API_URL, else https://api.github.com)")
    g.add_argument("--model", help="model id (default: from config, else claude-sonnet-5-5)")
    g.add_argument("--config", metavar="PATH", help="config file in the repository, read from the base branch "
                   "(default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml)")
    g.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="how the shared prefix is cached before the fan-out")
    g.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding of this severity or worse is open on the PR "
                        f"({', '.join(SEVERITIES)})")
    g.add_argument("--review-drafts", action="store_true", help="review draft pull requests too (default: skip)")
    g.add_argument("--dry-run", action="store_true", help="review and print, post nothing")
    g.add_argument("--format", choices=sorted(FORMATS), default="markdown", help="stdout format (default: markdown)")
    g.add_argument("--keep-workspace", type=Path, metavar="DIR", help="keep the workspace in DIR (must be empty)")
    g.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="save each finished reviewer under DIR as it finishes, and reuse what a run on the same "
                        "change saved there: a re-run after a failed post or a killed job pays nothing twice "
                        "(the Action keeps DIR in the Actions cache)")
    g.add_argument("--github-throttle", type=_throttle, default=(0.25, 1.0), metavar="SECONDS[,WRITE_SECONDS]",
                   help="pause between GitHub requests and between writes (default: 0.25,1, PyGithub's; 0 turns it off)")
    providers.add_arguments(g)
    g.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    g.add_argument("-v", "--verbose", action="store_true", help="more progress on stderr")
    g.set_defaults(run=run)


@dataclass
class _Out:
    """Where the run reports: stderr lines, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY (when set)."""

    env: ActionsEnv
    quiet: bool
    verbose: bool
    known: tuple[str, ...] = ()         # the change's secrets: redacted from every line and the job summary
    extra: dict[str, str] = field(default_factory=dict)   # more outputs (the reactions' feedback)
    status: str = ""                    # the last status finished (a command's answer quotes it)

    def say(self, msg: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(f"reviewbot: {redact_output(msg, self.known)}", file=sys.stderr)

    def progress(self, msg: str) -> None:
        if self.verbose or (not self.quiet and ": read " not in msg and "sha256" not in msg):
            self.say(msg)

    def finish(self, title: str, status: str, out: dict[str, str], details: str = "") -> None:
        out = {**out, **self.extra}
        self.status = status
        if self.env.output:
            with open(self.env.output, "a", encoding="utf-8") as fh:
                for key, value in out.items():
                    fh.write(outgoing(f"{key}={value.replace(chr(10), ' ')}\n", self.known))
        if self.env.step_summary:
            text = pub.step_summary(title, status, out, details)
            if len(text) > STEP_SUMMARY_MAX:
                text = pub.step_summary(title, status, out, details[:STEP_SUMMARY_MAX - 4000] + "\n\n[truncated]")
            with open(self.env.step_summary, "a", encoding="utf-8") as fh:
                fh.write(outgoing(text, self.known))


def _skip(out: _Out, title: str, reason: str, code: str) -> int:
    """A run that has nothing to do: one line, the outputs with its `skipped` code, exit 0."""
    out.say(f"{title}: {reason}", always=True)
    out.finish(title, f"Skipped: {reason}.", pub.outputs(findings=0, new=0, highest_severity="none", calls=(),
                                                         skipped=code))
    return EXIT_OK


def _secret_hunks_to_body(plan: pub.Plan, pr_change, known: tuple[str, ...]) -> pub.Plan:
    """Inline comments whose diff hunk (which GitHub stores and shows with each comment) would hold a
    secret of the change go in the review body instead."""
    moved = tuple(c for c in plan.inline if hunk_shows_secret(pr_change, c.path, c.line, known))
    if not moved:
        return plan
    why = "in the body: the diff hunk of this line shows a secret"
    return replace(plan, inline=tuple(c for c in plan.inline if c not in moved),
                   body_new=plan.body_new + tuple(pub.body_block(c.finding, why) for c in moved))


def _event(args, env: ActionsEnv) -> PullRequestEvent | ConversationEvent:
    if args.repo or args.pr:
        repository = args.repo or env.repository
        if not (repository and args.pr):
            raise ConfigError("--pr N is needed with --repo (and --repo OWNER/NAME with --pr, "
                              "unless GITHUB_REPOSITORY is set)")
        return manual_event(repository, args.pr)
    return read_any_event(args.event or env.event_path, env.event_name)


async def _review(change, config, api_key: str | None, workspace: Path, on_event,
                  target: providers.Target | None = None, known=None, repo=None,
                  keep_state: bool = False, resume: bool = False) -> ReviewResult:
    async with client_from_env(api_key, config.max_retries, config.timeout_seconds,
                               stall_seconds=config.stall_seconds, target=target) as client:
        transport = Transport(client, stall_seconds=config.stall_seconds, target=target)
        return await run_review(change, config, transport, workspace, on_event, known=known, repo=repo,
                                keep_state=keep_state, resume=resume)


def run(args, environ: dict[str, str] | None = None) -> int:
    """`environ`: the step's variables over the process's (a test runs two steps at once)."""
    env = ActionsEnv.from_environ({**os.environ, **(environ or {})})
    out = _Out(env, args.quiet, args.verbose)
    event = _event(args, env)
    title = f"{event.repository}#{event.number}"
    done: dict = {}                     # what the run got to, for the job summary if it fails later
    try:
        if isinstance(event, ConversationEvent):
            return _converse(args, env, out, event, title, done)
        return _run(args, env, out, event, title, done)
    except ReviewbotError as e:
        # the one-line error goes to stderr (reviewbot.cli); the job summary says the same, with the
        # review when it was made before the failure
        result = done.get("result")
        out.finish(title, f"Failed: {str(e).rstrip('.')}." + (" The review is below." if result else ""),
                   pub.outputs(findings=len(result.findings) if result else 0, new=0,
                               highest_severity=pub.highest(_severities(result.findings)) if result else "none",
                               calls=result.calls if result else (), skipped=getattr(e, "skip_code", "error")),
                   to_markdown(result) if result else "")
        raise


def _severities(findings) -> tuple[str, ...]:
    return tuple(sorted((f.severity for f in findings), key=SEVERITY_RANK.get))


def _run(args, env: ActionsEnv, out: _Out, event: PullRequestEvent, title: str, done: dict,
         command: str = "", api: PullRequestApi | None = None) -> int:
    """A review run. `command`: "review" or "full-review" when a person asked for it in a comment
    (pause does not apply; a full review ignores what was reviewed already)."""
    def skip(reason: str, code: str) -> int:
        return _skip(out, title, reason, code)

    if not event.wants_review:
        return skip(f"nothing to do for the '{event.action}' action", "action")
    if event.state != "open":
        return skip("the pull request is not open", "closed")
    if event.draft and not args.review_drafts:
        return skip("draft pull request (mark it ready for review, or pass --review-drafts)", "draft")
    # A cloud provider (the --provider flag, the Action's `provider` input) brings its own credential
    # chain, checked once the config is read; the Claude API needs its key before anything is fetched.
    cloud = args.provider not in (None, "anthropic")
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
    if not api_key and not cloud:
        if event.restricted:
            return skip("no ANTHROPIC_API_KEY: GitHub does not pass secrets to workflows of pull requests from "
                        "forks or Dependabot, so there is no review", "no-api-key")
        err = ConfigError("ANTHROPIC_API_KEY is not set (add it as a repository secret and pass it to the action)")
        err.skip_code = "no-api-key"
        raise err
    if cloud:
        try:
            providers.check_credentials(args.provider, os.environ, args.aws_profile)
        except ConfigError as e:
            if event.restricted:
                return skip(f"{e} (workflows of pull requests from forks or Dependabot get no secrets and no "
                            "OIDC token)", "no-api-key")
            e.skip_code = "no-api-key"
            raise
    if api is None:
        api = _api(args, env, event.repository, event.number)
    pull = api.pull()
    if pull.state != "open":
        return skip("the pull request is not open", "closed")
    if pull.draft and not args.review_drafts:
        return skip("draft pull request (mark it ready for review, or pass --review-drafts)", "draft")
    login = api.login()
    prior = _read_prior(api, login, out, title)
    said = api.issue_comments() + api.review_comments()
    state = conv.read_state(said, login)
    fb = _feedback(api, prior, said)
    out.extra["feedback"] = fb.output()
    if state.paused and not command and event.name != MANUAL:
        return skip("automatic reviews are paused on this pull request (comment `/reviewbot resume`)", "paused")
    suppressed = state.suppressed | fb.down
    prior = pub.without(prior, suppressed)
    scope = pub.decide_scope(prior, pull.head_sha)
    if command == "full-review":
        scope = pub.Scope("full")
    if scope.kind == "skip":
        return _complete(api, prior, pull, login, out, title, args)

    files, commits = api.files(), api.commits()
    files, rebuilt = fetch_omitted(api, files, pull.base_sha, pull.head_sha)
    base_config, rules = fetch_base(api, pull.base_sha, args.config)
    ignore = fetch_ignore(api, pull.base_sha)
    config = with_overrides(base_config, model=args.model, warmup=args.warmup, **providers.overrides(args))
    target = providers.resolve(config, os.environ)     # a model the platform lacks: one line, before any call
    config = providers.apply(config, target)
    if target.platform.name != "anthropic" and not cloud:      # named by the base branch's config only
        providers.check_credentials(target, os.environ)
    pr_change = pull_change(pull, event.repository, files, commits, rules, pub.prior_lines(prior), rebuilt)
    out.known = known_secrets(pr_change)
    api.redact_with(out.known)               # every text posted from here on passes the redaction gate
    if not pr_change.files:
        return skip("no changed files", "no-files")
    not_reviewed = tuple((f.path, "binary" if f.note == BINARY_NOTE else "patch omitted by GitHub")
                         for f in pr_change.files if f.note in (BINARY_NOTE, OMITTED_NOTE))
    change, since = pr_change, None
    if scope.kind == "incremental":
        comparison = api.compare(scope.since, pull.head_sha)
        if comparison is not None and comparison.is_fast_forward:
            change = incremental_change(pull, event.repository, comparison, files, scope.since, rules,
                                        pub.prior_lines(prior))
            since = scope.since
            out.say(f"{title}: reviewing {len(comparison.commits)} commit(s) pushed since {scope.since[:12]}")
        else:
            out.say(f"{title}: the history since {scope.since[:12]} was rewritten or merged; reviewing the whole PR")

    result = _run_pipeline(args, change, config, api_key, out, target, api) if change.files else None
    if result is not None:                   # the redaction gate, before anything is planned or posted
        result = redact_result(replace(result, secrets=tuple(dict.fromkeys(result.secrets + out.known))))
    done["result"] = result
    if result is not None:
        sys.stdout.write(render(result, args.format))
        out.say(usage_line(result))
    calls = result.calls if result else ()
    complete = result.complete if result else True
    kept = tuple(f for f in (result.findings if result else ()) if f.fingerprint not in suppressed
                 and ignore.reason(f.path, f.fingerprint, f.title) is None)
    plan = pub.plan_run(kept, pr_change, prior, pull.head_sha,
                        result is not None and result.complete, config.inline_min_severity,
                        config.max_inline_comments, config.delete_fixed_comments, rebuilt)
    plan = _secret_hunks_to_body(plan, pr_change, out.known)
    details = to_markdown(result) if result else ""

    if args.dry_run:
        out.say(f"dry run: would post {len(plan.inline)} inline comment(s) and {len(plan.body_new)} finding(s) in "
                f"the body ({plan.repeated} already posted, {plan.folded} repeat(s) folded), settle "
                f"{len(plan.gone)} fixed thread(s) and reopen {len(plan.reopen)}", always=True)
        sev = pub.open_findings(prior, plan, plan.carried + plan.body_new, prior.omitted)
        out.finish(title, "Dry run: nothing posted.", pub.outputs(findings=len(sev), new=plan.new_count,
                   highest_severity=pub.highest(sev), calls=calls, skipped="dry-run"), details)
        return _exit(sev, args.fail_on, complete)

    try:
        o = _publish(api, plan, prior, pull, result, since, config.model, login, not_reviewed, fb.line())
    except ReadOnlyToken as e:
        sev = _severities(result.findings if result else ())
        out.say(f"cannot post on {title}: {e}; the review is in the job summary", always=True)
        out.finish(title, f"Not posted: {e}. The review is below.",
                   pub.outputs(findings=len(sev), new=plan.new_count, highest_severity=pub.highest(sev), calls=calls,
                               skipped="read-only-token"), details)
        if reaches(sev, args.fail_on):
            return EXIT_FINDINGS
        return EXIT_OK if event.restricted else EXIT_API

    if o.raced is not None:
        sev = pub.open_findings(o.raced, None, o.raced.all_body_findings, o.raced.omitted)
        status = (f"Another run reviewed {pull.head_sha[:12]} at the same time and posted first"
                  + ("; this run's duplicate review was withdrawn." if o.withdrawn else "; nothing posted."))
        out.say(f"{title}: {status}", always=True)
        out.finish(title, status, pub.outputs(findings=len(sev), new=0, highest_severity=pub.highest(sev),
                                              calls=calls, review_url=o.url, skipped="already-reviewed"), details)
        return _exit(sev, args.fail_on, complete)

    sev = pub.open_findings(prior, plan, o.body_findings, prior.omitted, o.inline)
    status = (f"Posted {o.url or 'the review'}: {plan.new_count} new finding(s) ({len(o.inline)} inline), "
              f"{plan.repeated} already posted, {plan.folded} repeat(s) folded, "
              + _cleanup_status(o.cleanup))
    if o.error:
        status += f" The summary was not updated ({o.error.rstrip('.')}); the next run completes it."
    out.say(status, always=True)
    for _, why in o.cleanup.failed:
        out.say(f"warning: {why} (the next run retries it)", always=True)
    if o.cleanup.forbidden:
        out.say(f"warning: {o.cleanup.forbidden}: fixed threads were answered, not resolved (grant the workflow "
                "'contents: write' to let reviewbot resolve them)", always=True)
    out.finish(title, status, pub.outputs(findings=len(sev), new=plan.new_count, highest_severity=pub.highest(sev),
                                          calls=calls, review_url=o.url), details)
    if o.error:
        return EXIT_API
    return _exit(sev, args.fail_on, complete)


def _feedback(api: PullRequestApi, prior: pub.Prior, said) -> conv.Feedback:
    """The 👍/👎 of people with write access on the bot's inline comments (read only where GitHub's
    reaction summary shows any)."""
    reacted = {t.comment.id: api.reactions(t.comment.id) for t in prior.threads if any(t.comment.thumbs)}
    return conv.feedback(prior.threads, reacted, conv.trusted_logins(said))


def _api(args, env: ActionsEnv, repository: str, number: int) -> PullRequestApi:
    if not env.token:
        raise ConfigError("GITHUB_TOKEN is not set (the action passes github.token by default)")
    read_s, write_s = args.github_throttle
    settings = GitHubSettings(api_url=(args.api_url or env.api_url).rstrip("/"), token=env.token,
                              seconds_between_requests=read_s, seconds_between_writes=write_s, verbose=args.verbose)
    return PullRequestApi(connect(settings), settings, repository, number)


def _converse(args, env: ActionsEnv, out: _Out, event: ConversationEvent, title: str, done: dict) -> int:
    """A person wrote on the PR: a command, or a reply in one of the bot's threads. Only people with
    write access are heard; a comment already answered (a re-run of the event) gets nothing new."""
    def skip(reason: str, code: str) -> int:
        return _skip(out, title, reason, code)

    if not event.wants_answer:
        return skip(f"nothing to do for the '{event.action}' action of {event.name}", "action")
    command = conv.parse_command(event.body) if event.in_reply_to is None else None
    reply = event.name == "pull_request_review_comment" and event.in_reply_to is not None
    if command is None and not reply:
        return skip("no /reviewbot command in the comment", "no-command")
    if not event.trusted:
        return skip(f"{event.login or 'the author'} ({event.association}) has no write access to the repository; "
                    "ignored", "not-collaborator")
    api = _api(args, env, event.repository, event.number)
    try:
        return _converse_with(args, env, out, event, title, done, api, skip)
    except ReadOnlyToken as e:
        # a fork's PR: its review-comment and review events run with a read-only token, like pull_request
        return skip(f"cannot answer: {e}", "read-only-token")


def _converse_with(args, env: ActionsEnv, out: _Out, event: ConversationEvent, title: str, done: dict,
                   api: PullRequestApi, skip) -> int:
    command = conv.parse_command(event.body) if event.in_reply_to is None else None
    reply = command is None
    login = api.login()
    if event.login == login:
        return skip("the bot's own comment", "own-comment")
    issue_comments, review_comments = api.issue_comments(), api.review_comments()
    state = conv.read_state(issue_comments + review_comments, login)
    if event.comment_id in state.answered:
        return skip(f"comment {event.comment_id} is answered already; nothing new to post", "already-answered")
    if reply:
        return _reply(api, event, login, review_comments, out, title, skip, state)

    assert command is not None
    if event.name == "issue_comment":
        api.react(event.comment_id, "eyes")
    name = command.name
    if name in ("review", "full-review"):
        pull = api.pull()
        pr_event = PullRequestEvent(name=event.name, action=MANUAL, repository=event.repository,
                                    number=event.number, head_sha=pull.head_sha, base_sha=pull.base_sha,
                                    head_repository=pull.head_repository, draft=pull.draft, state=pull.state,
                                    author=pull.author, sender=event.login)
        code = _run(args, env, out, pr_event, title, done, command=name, api=api)
        what = "A full review" if name == "full-review" else "A review of the new commits"
        text = f"{what} of `{pull.head_sha[:12]}`: {conv.title_of(out.status, 1000)}"
        _answer(api, conv.answer(text, event.comment_id), event.comment_id, login)
        return code
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
        prior = pub.read_prior(api.reviews(), review_comments, login, threads)
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
                    + proposal(fp, ftitle, f"dismissed by {event.login} on #{event.number}"))
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
    out.finish(title, f"/reviewbot {name}: {status}.", pub.outputs(findings=0, new=0, highest_severity="none",
                                                                  calls=(), skipped=""))
    return EXIT_OK


def _answer(api: PullRequestApi, body: str, re_id: int, login: str) -> None:
    """One answer comment; a retry first checks that the answer did not land already."""
    key = f'"re":{re_id}'

    def landed():
        return next((c for c in api.issue_comments() if c.author == login and key in c.body), None)
    api.comment(body, landed)


def _resolve(api: PullRequestApi, prior: pub.Prior, fingerprint: str) -> None:
    """Resolve the bot's thread of a finding, best effort (the suppression holds either way)."""
    for t in prior.threads:
        if t.fingerprint == fingerprint and t.node and not t.resolved:
            try:
                api.resolve_thread(t.node)
            except APIError:
                pass                          # a token without contents: write; the finding stays suppressed


def _reply(api: PullRequestApi, event: ConversationEvent, login: str, review_comments, out: _Out, title: str,
           skip, state: conv.State) -> int:
    """A reply in a review thread: in one of the bot's threads, a dismissal resolves it and silences
    the finding on this PR."""
    try:
        threads = api.threads()
    except APIError:
        threads = ()
    prior = pub.read_prior(api.reviews(), review_comments, login, threads)
    thread = next((t for t in prior.threads if t.comment.id == event.in_reply_to), None)
    if thread is None:
        return skip("a reply in a thread that is not the bot's", "not-bot-thread")
    if thread.fingerprint in state.suppressed:
        return skip("this thread's finding is suppressed already; the bot answers once per thread", "already-answered")
    if not conv.is_dismissal(event.body):
        return skip("a reply that neither dismisses the finding nor is answered by this version", "no-dismissal")
    api.react(event.comment_id, "+1", review_comment=True)
    _resolve(api, prior, thread.fingerprint)
    text = ("Understood: this finding is resolved and will not be reported again on this pull request.\n\n"
            + proposal(thread.fingerprint, thread.title, f"dismissed by {event.login} on #{event.number}"))
    key = f'"re":{event.comment_id}'

    def landed():
        return next((c for c in api.review_comments() if c.author == login and key in c.body), None)
    api.reply(thread.comment.id, conv.answer(text, event.comment_id, suppress=(thread.fingerprint,)), landed)
    status = f"finding {thread.fingerprint[:12]} dismissed by {event.login}: thread resolved, suppressed"
    out.say(f"{title}: {status}", always=True)
    out.finish(title, status + ".", pub.outputs(findings=0, new=0, highest_severity="none", calls=(), skipped=""))
    return EXIT_OK


def _cleanup_status(d: pub.Done) -> str:
    parts = [f"{d.count('fixed')} fixed thread(s) settled"]
    if d.count("delete"):
        parts.append(f"{d.count('delete')} fixed comment(s) deleted")
    if d.count("reopen"):
        parts.append(f"{d.count('reopen')} thread(s) reopened")
    if d.failed:
        parts.append(f"{len(d.failed)} cleanup step(s) failed")
    return ", ".join(parts) + "."


def _read_prior(api: PullRequestApi, login: str, out: _Out, title: str) -> pub.Prior:
    """What the bot posted before, with the threads' resolution (GraphQL). Without GraphQL (an
    error, a rate limit) the run goes on: it answers fixed threads but cannot resolve them."""
    try:
        threads = api.threads()
    except APIError as e:
        out.say(f"warning: {title}: {e}; fixed threads are answered but not resolved this run", always=True)
        threads = ()
    return pub.read_prior(api.reviews(), api.review_comments(), login, threads)


def _complete(api: PullRequestApi, prior: pub.Prior, pull, login: str, out: _Out, title: str, args) -> int:
    """The head is reviewed already: post nothing new, but finish what an earlier run committed and
    could not complete (cleanup on old threads, the summary edit, a duplicate to withdraw)."""
    head = pull.head_sha
    steps = pub.cleanup_steps(prior, prior.to_settle, prior.to_reopen, head)
    hide = _superseded(prior, None)
    cleanup = pub.run_steps(api, steps + hide, login)
    error = ""
    if prior.pending and prior.summary is not None:
        last = prior.pending[-1]
        try:
            api.edit_review(prior.summary.id, _summary(prior, pull, prior.all_body_findings, (), (), prior.cost,
                                                       last.review.id, cleanup, latest=last.latest,
                                                       verdict=prior.verdict, overview=prior.overview,
                                                       model="", n_inline=0,
                                                       run_line=pub.read_run_line(last.review.body)))
        except APIError as e:
            error = str(e)
    severities = pub.open_findings(prior, None, prior.all_body_findings, prior.omitted)
    finished = (" Completed the previous run: " + _cleanup_status(cleanup)
                + (" Summary updated." if prior.pending and not error else "")) if (steps or hide or prior.pending) else ""
    out.say(f"{title}: {head[:12]} is already reviewed; nothing to post.{finished}", always=True)
    if error:
        out.say(f"warning: {error} (the next run retries it)", always=True)
    out.finish(title, f"Already reviewed `{head[:12]}`: nothing new to post.{finished}",
               pub.outputs(findings=len(severities), new=0, highest_severity=pub.highest(severities), calls=(),
                           review_url=prior.summary.html_url if prior.summary else "", skipped="already-reviewed"))
    if error:
        return EXIT_API
    return EXIT_FINDINGS if reaches(severities, args.fail_on) else EXIT_OK


def _superseded(prior: pub.Prior, new: PostedReview | None) -> tuple[pub.Step, ...]:
    """The bot's update reviews a newer one supersedes: hidden (minimized as outdated), not deleted."""
    records = [r.review for r in prior.folded[-1:] + prior.pending] + ([new] if new else [])
    return tuple(pub.Step("hide", r.id, r.node_id, "OUTDATED") for r in records[:-1] if r.node_id)


def _summary(prior: pub.Prior, pull, findings, calls, not_reviewed, cost: pub.CostState, upto: int,
             cleanup: pub.Done | None, *, latest: str | None, verdict: str | None, overview: str | None,
             model: str, n_inline: int, complete: bool = True, settle=(), reopen=(), run_line: str = "",
             feedback: str = "") -> str:
    """The summary's body after this run (every argument is a value; nothing is read here)."""
    failed = cleanup.failed if cleanup else ()
    settle = tuple(dict.fromkeys(tuple(settle) + tuple(s.target for s, _ in failed if s.kind in ("fixed", "delete"))))
    reopen = tuple(dict.fromkeys(tuple(reopen) + tuple(
        next((x for x in prior.to_reopen if x[0] == s.target), (s.target, "high")) for s, _ in failed
        if s.kind == "reopen")))
    gone = set(settle) | {s.target for s in (cleanup.done if cleanup else ()) if s.kind in ("fixed", "delete")}
    open_inline = sum(1 for t in prior.threads if not t.fixed and not t.resolved and t.comment.id not in gone)
    return pub.summary_body(overview=overview, latest=latest, verdict=verdict, complete=complete,
                            open_inline=open_inline + n_inline, findings=findings, calls=calls,
                            model=model or (pub.read_model(prior.summary.body) if prior.summary else ""),
                            cost=cost, head_sha=pull.head_sha,
                            prior_omitted=prior.omitted, upto=upto, settle=settle, reopen=reopen,
                            not_reviewed=not_reviewed, run_line=run_line, feedback=feedback)


def _exit(severities, fail_on, complete: bool) -> int:
    if reaches(severities, fail_on):
        return EXIT_FINDINGS
    return EXIT_OK if complete else EXIT_PARTIAL


def _run_pipeline(args, change, config, api_key: str | None, out: _Out,
                  target: providers.Target | None = None, api=None) -> ReviewResult:
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        repo = _repository(api, change, config, Path(tmp) / "objects.git", out) if api is not None else None
        if args.state_dir:
            return _review_with_state(args.state_dir, change, config, api_key, out, target, repo)
        if args.keep_workspace:
            result = asyncio.run(_review(change, config, api_key, args.keep_workspace, out.progress, target,
                                         out.known, repo))
            (args.keep_workspace / "usage.json").write_text(json.dumps(usage_json(result.calls), indent=2) + "\n")
            (args.keep_workspace / "review.json").write_text(render(result, "json"))
            return result
        return asyncio.run(_review(change, config, api_key, Path(tmp) / "ws", out.progress, target, out.known,
                                   repo))


def state_name(meta) -> str:
    """The state directory of one change (its base and head): a re-run of the same review finds it."""
    return f"{meta.base_sha[:12]}..{meta.head_sha[:12]}"


def _review_with_state(state_dir: Path, change, config, api_key: str | None, out: _Out,
                       target: providers.Target | None, repo) -> ReviewResult:
    """The review with every finished reviewer saved under state_dir, reusing what an earlier run of
    the same change saved (a failed post, a cancelled job): nothing paid for is paid again. A saved
    run of another configuration, or one cut before it saved anything, is started afresh."""
    ws = state_dir / state_name(change.meta)
    resume = (ws / "state" / "run.json").is_file()
    if resume:
        try:
            result = asyncio.run(_review(change, config, api_key, ws, out.progress, target, out.known, repo,
                                         keep_state=True, resume=True))
            redact_saved(ws, out.known)
            return result
        except InputError as e:                    # refused before any call: a different change or config
            out.say(f"saved state in {ws} not reused ({e}); reviewing afresh")
    shutil.rmtree(ws, ignore_errors=True)
    ws.parent.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_review(change, config, api_key, ws, out.progress, target, out.known, repo,
                                   keep_state=True))
    finally:
        redact_saved(ws, out.known)


def _repository(api, change, config, git_dir: Path, out: _Out):
    """The PR's head and base from their tarballs (no checkout); without them the review goes on
    with the patches alone, and says so."""
    if not config.repository:
        return None
    try:
        return github_repository(api, change.meta.head_sha, change.meta.base_sha, git_dir)
    except (APIError, ToolInputError) as e:
        out.say(f"repository context unavailable, reviewing the patches alone: {e}")
        return None


@dataclass(frozen=True)
class _Outcome:
    url: str = ""
    body_findings: tuple = ()
    inline: tuple = ()                         # the inline comments posted
    cleanup: pub.Done = field(default_factory=pub.Done)
    error: str = ""                            # the summary edit failed (the review is posted)
    raced: pub.Prior | None = None             # another run posted this head's review first
    withdrawn: bool = False


def _publish(api: PullRequestApi, plan: pub.Plan, prior: pub.Prior, pull, result: ReviewResult | None,
             since: str | None, model: str, login: str, not_reviewed, feedback: str = "") -> _Outcome:
    """Send the plan, in the order that makes every step safe to die after:

    1. the commit point: the review (or, with nothing new to post, the summary edit), re-checked
       right before (another run may have reviewed this head meanwhile: then nothing is posted) and
       reconciled right after (two runs that posted at once: the later review withdraws itself);
    2. best-effort cleanup on old threads (reply "Fixed in", resolve, reopen, hide superseded);
    3. the summary edit, folding this run in. A failure after 1 loses nothing: the review's own
       marker records the run, and the next run completes 2 and 3."""
    head = pull.head_sha
    key = f'"head":"{head}"'                  # in this run's summary/update marker only
    calls = result.calls if result else ()
    verdict = (result.verdict if result else None) or prior.verdict
    complete = result.complete if result else True
    cost = prior.cost.plus(calls)

    def revalidate():
        return {fc.path: fc for fc in (file_change(f) for f in api.files())}

    def raced() -> pub.Prior | None:
        now = pub.read_prior(api.reviews(), (), login)
        return now if now.reviewed == head else None

    api.wait_for_rate(3 + len(plan.steps))
    if (other := raced()) is not None:
        return _Outcome(other.summary.html_url if other.summary else "", raced=other)

    if prior.summary is None:
        def render_summary(findings, n_inline):
            return pub.summary_body(overview=result.overview if result else None, latest=None, verdict=verdict,
                                    complete=complete, open_inline=n_inline, findings=plan.carried + findings,
                                    calls=calls, model=model, cost=cost, head_sha=head, prior_omitted=prior.omitted,
                                    not_reviewed=not_reviewed, feedback=feedback)
        posted, final = pub.post_review(api, pub.Draft(head, plan.inline, plan.body_new, render_summary, key),
                                        login, revalidate)
        if (loser := _reconcile(api, posted, login)) is not None:
            return loser
        cleanup = pub.run_steps(api, plan.steps, login)
        return _Outcome(posted.html_url, plan.carried + final.findings, final.comments, cleanup)

    incremental = since is not None or result is None
    latest = pub.latest_text(result.overview if result else None, prior.reviewed or head, head,
                             reviewed=result is not None) if incremental else None
    overview = prior.overview if incremental else (result.overview if result else None)
    url, new = prior.summary.html_url, None
    final_findings: tuple[pub.BodyFinding, ...] = ()
    inline: tuple[pub.InlineComment, ...] = ()
    if plan.new_count:
        def render_update(findings, n_inline):
            return pub.update_body(findings, n_inline, since or prior.reviewed or head, head, calls, model,
                                   prev=prior.reviewed, latest=latest, verdict=verdict, settle=plan.settle,
                                   reopen=plan.reopen, not_reviewed=not_reviewed)
        new, final = pub.post_review(api, pub.Draft(head, plan.inline, plan.body_new, render_update, key),
                                     login, revalidate)
        if (loser := _reconcile(api, new, login)) is not None:
            return loser
        url, final_findings, inline = new.html_url, final.findings, final.comments
    carried = {b.fingerprint for b in plan.carried}
    body_findings = plan.carried + tuple(b for b in final_findings if b.fingerprint not in carried)
    upto = new.id if new else (prior.pending[-1].review.id if prior.pending else prior.upto)

    def summary(cleanup: pub.Done | None) -> str:
        return _summary(prior, pull, body_findings, calls, not_reviewed, cost, upto, cleanup, latest=latest,
                        verdict=verdict, overview=overview, model=model, n_inline=len(inline), complete=complete,
                        settle=() if new else plan.settle, reopen=() if new else plan.reopen, feedback=feedback)

    if new is None:                           # nothing new to post: the summary edit is the commit point
        api.edit_review(prior.summary.id, summary(None))
        cleanup = pub.run_steps(api, plan.steps + _superseded(prior, None), login)
        return _Outcome(url, body_findings, inline, cleanup)
    cleanup = pub.run_steps(api, plan.steps + _superseded(prior, new), login)
    try:
        api.edit_review(prior.summary.id, summary(cleanup))
    except APIError as e:
        return _Outcome(url, body_findings, inline, cleanup, error=str(e))
    return _Outcome(url, body_findings, inline, cleanup)


def _reconcile(api: PullRequestApi, posted: PostedReview, login: str) -> _Outcome | None:
    """Right after posting: did another run post the same review at once? The first one stays; this
    (later) one withdraws its comments, keeps a one-line body and is hidden as a duplicate."""
    now = pub.read_prior(api.reviews(), api.review_comments(), login)
    if posted.id not in {r.id for r in now.duplicates}:
        return None
    winner = now.summary if now.summary and now.summary.commit_id == posted.commit_id and (
        not now.pending or now.pending[-1].head != posted.commit_id) else now.pending[-1].review
    mine = tuple(pub.Step("withdraw", c.id) for c in now.dup_comments if c.review_id == posted.id)
    pub.run_steps(api, mine, login)
    api.edit_review(posted.id, pub.withdrawn_body(winner))
    if posted.node_id:
        pub.run_steps(api, (pub.Step("hide", posted.id, posted.node_id, "DUPLICATE"),), login)
    after = pub.read_prior(api.reviews(), api.review_comments(), login)
    return _Outcome(winner.html_url, raced=after, withdrawn=True)
