"""`reviewbot github`: review a GitHub pull request and post one review (the GitHub Action's command).

Reads the `pull_request` event (GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN),
fetches the PR through PyGithub into the same `Change` the CLI builds from git, runs the same
pipeline, and publishes through reviewbot.github.publish. Findings count, highest severity, cost
and cache hit rate go to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY.

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
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import WARMUP_STRATEGIES, with_overrides
from ..errors import (
    EXIT_API,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    APIError,
    ConfigError,
    ReviewbotError,
    ToolInputError,
)
from ..github import publish as pub
from ..github.event import ActionsEnv, PullRequestEvent, manual_event, read_event
from ..github.gh import GitHubSettings, PullRequestApi, ReadOnlyToken, connect
from ..github.archive import github_repository
from ..github.source import fetch_base, file_change, incremental_change, pull_change
from ..llm import Transport, client_from_env
from ..publish.render import FORMATS, render, to_markdown, usage_line
from ..review import ReviewResult, run_review
from ..specialists.findings import SEVERITY_RANK, reaches
from ..specialists.tools import SEVERITIES
from ..usage import usage_json

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
    g.add_argument("--model", help="model id (default: from config, else claude-sonnet-4-6)")
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
    g.add_argument("--github-throttle", type=_throttle, default=(0.25, 1.0), metavar="SECONDS[,WRITE_SECONDS]",
                   help="pause between GitHub requests and between writes (default: 0.25,1, PyGithub's; 0 turns it off)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    g.add_argument("-v", "--verbose", action="store_true", help="more progress on stderr")
    g.set_defaults(run=run)


@dataclass
class _Out:
    """Where the run reports: stderr lines, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY (when set)."""

    env: ActionsEnv
    quiet: bool
    verbose: bool

    def say(self, msg: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(f"reviewbot: {msg}", file=sys.stderr)

    def progress(self, msg: str) -> None:
        if self.verbose or (not self.quiet and ": read " not in msg and "sha256" not in msg):
            self.say(msg)

    def finish(self, title: str, status: str, out: dict[str, str], details: str = "") -> None:
        if self.env.output:
            with open(self.env.output, "a", encoding="utf-8") as fh:
                for key, value in out.items():
                    fh.write(f"{key}={value.replace(chr(10), ' ')}\n")
        if self.env.step_summary:
            text = pub.step_summary(title, status, out, details)
            if len(text) > STEP_SUMMARY_MAX:
                text = pub.step_summary(title, status, out, details[:STEP_SUMMARY_MAX - 4000] + "\n\n[truncated]")
            with open(self.env.step_summary, "a", encoding="utf-8") as fh:
                fh.write(text)


def _event(args, env: ActionsEnv) -> PullRequestEvent:
    if args.repo or args.pr:
        repository = args.repo or env.repository
        if not (repository and args.pr):
            raise ConfigError("--pr N is needed with --repo (and --repo OWNER/NAME with --pr, "
                              "unless GITHUB_REPOSITORY is set)")
        return manual_event(repository, args.pr)
    return read_event(args.event or env.event_path, env.event_name)


async def _review(change, config, api_key: str, workspace: Path, on_event, repo=None) -> ReviewResult:
    async with client_from_env(api_key, config.max_retries, config.timeout_seconds) as client:
        return await run_review(change, config, Transport(client), workspace, on_event, repo=repo)


def run(args) -> int:
    env = ActionsEnv.from_environ(os.environ)
    out = _Out(env, args.quiet, args.verbose)
    event = _event(args, env)
    title = f"{event.repository}#{event.number}"
    done: dict = {}                     # what the run got to, for the job summary if it fails later
    try:
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


def _run(args, env: ActionsEnv, out: _Out, event: PullRequestEvent, title: str, done: dict) -> int:
    def skip(reason: str, code: str) -> int:
        out.say(f"{title}: {reason}", always=True)
        out.finish(title, f"Skipped: {reason}.", pub.outputs(findings=0, new=0, highest_severity="none", calls=(),
                                                             skipped=code))
        return EXIT_OK

    if not event.wants_review:
        return skip(f"nothing to do for the '{event.action}' action", "action")
    if event.state != "open":
        return skip("the pull request is not open", "closed")
    if event.draft and not args.review_drafts:
        return skip("draft pull request (mark it ready for review, or pass --review-drafts)", "draft")
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        if event.restricted:
            return skip("no ANTHROPIC_API_KEY: GitHub does not pass secrets to workflows of pull requests from "
                        "forks or Dependabot, so there is no review", "no-api-key")
        err = ConfigError("ANTHROPIC_API_KEY is not set (add it as a repository secret and pass it to the action)")
        err.skip_code = "no-api-key"
        raise err
    if not env.token:
        raise ConfigError("GITHUB_TOKEN is not set (the action passes github.token by default)")

    read_s, write_s = args.github_throttle
    settings = GitHubSettings(api_url=(args.api_url or env.api_url).rstrip("/"), token=env.token,
                              seconds_between_requests=read_s, seconds_between_writes=write_s, verbose=args.verbose)
    api = PullRequestApi(connect(settings), settings, event.repository, event.number)
    pull = api.pull()
    if pull.state != "open":
        return skip("the pull request is not open", "closed")
    if pull.draft and not args.review_drafts:
        return skip("draft pull request (mark it ready for review, or pass --review-drafts)", "draft")
    login = api.login()
    prior = pub.read_prior(api.reviews(), api.review_comments(), login)
    scope = pub.decide_scope(prior, pull.head_sha)
    if scope.kind == "skip":
        severities = pub.open_findings(prior, None, prior.body_findings, prior.omitted)
        out.say(f"{title}: {pull.head_sha[:12]} is already reviewed; nothing to post", always=True)
        out.finish(title, f"Already reviewed `{pull.head_sha[:12]}`: nothing new to post.",
                   pub.outputs(findings=len(severities), new=0, highest_severity=pub.highest(severities), calls=(),
                               review_url=prior.summary.html_url if prior.summary else "", skipped="already-reviewed"))
        return EXIT_FINDINGS if reaches(severities, args.fail_on) else EXIT_OK

    files, commits = api.files(), api.commits()
    base_config, rules = fetch_base(api, pull.base_sha, args.config)
    config = with_overrides(base_config, model=args.model, warmup=args.warmup)
    pr_change = pull_change(pull, event.repository, files, commits, rules, pub.prior_lines(prior))
    if not pr_change.files:
        return skip("no changed files", "no-files")
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

    result = _run_pipeline(args, change, config, api_key, out, api) if change.files else None
    done["result"] = result
    if result is not None:
        sys.stdout.write(render(result, args.format))
        out.say(usage_line(result))
    calls = result.calls if result else ()
    complete = result.complete if result else True
    plan = pub.plan_run(result.findings if result else (), pr_change, prior, pull.head_sha,
                        result is not None and result.complete, config.inline_min_severity,
                        config.max_inline_comments)
    cost = pub.CostState.of(prior.state).plus(calls)
    details = to_markdown(result) if result else ""

    if args.dry_run:
        out.say(f"dry run: would post {len(plan.inline)} inline comment(s) and {len(plan.body_new)} finding(s) in "
                f"the body ({plan.repeated} already posted), delete {len(plan.deletes)} and answer "
                f"{len(plan.replies)} outdated comment(s)", always=True)
        sev = pub.open_findings(prior, plan, plan.carried + plan.body_new, prior.omitted)
        out.finish(title, "Dry run: nothing posted.", pub.outputs(findings=len(sev), new=plan.new_count,
                   highest_severity=pub.highest(sev), calls=calls, skipped="dry-run"), details)
        return _exit(sev, args.fail_on, complete)

    try:
        posted_url, body_findings, new_inline = _publish(api, plan, prior, pull, result, since, cost,
                                                         config.model, login)
    except ReadOnlyToken as e:
        sev = _severities(result.findings if result else ())
        out.say(f"cannot post on {title}: {e}; the review is in the job summary", always=True)
        out.finish(title, f"Not posted: {e}. The review is below.",
                   pub.outputs(findings=len(sev), new=plan.new_count, highest_severity=pub.highest(sev), calls=calls,
                               skipped="read-only-token"), details)
        if reaches(sev, args.fail_on):
            return EXIT_FINDINGS
        return EXIT_OK if event.restricted else EXIT_API

    new = new_inline + len(plan.body_new)
    sev = pub.open_findings(prior, plan, body_findings, prior.omitted)
    status = (f"Posted {posted_url or 'the review'}: {new} new finding(s) ({new_inline} inline), "
              f"{plan.repeated} already posted, {len(plan.deletes)} outdated comment(s) deleted, "
              f"{len(plan.replies)} marked fixed.")
    out.say(status, always=True)
    out.finish(title, status, pub.outputs(findings=len(sev), new=new, highest_severity=pub.highest(sev), calls=calls,
                                          review_url=posted_url), details)
    return _exit(sev, args.fail_on, complete)


def _exit(severities, fail_on, complete: bool) -> int:
    if reaches(severities, fail_on):
        return EXIT_FINDINGS
    return EXIT_OK if complete else EXIT_PARTIAL


def _run_pipeline(args, change, config, api_key: str, out: _Out, api=None) -> ReviewResult:
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        repo = _repository(api, change, config, Path(tmp) / "objects.git", out) if api is not None else None
        if args.keep_workspace:
            result = asyncio.run(_review(change, config, api_key, args.keep_workspace, out.progress, repo))
            (args.keep_workspace / "usage.json").write_text(json.dumps(usage_json(result.calls), indent=2) + "\n")
            (args.keep_workspace / "review.json").write_text(render(result, "json"))
            return result
        return asyncio.run(_review(change, config, api_key, Path(tmp) / "ws", out.progress, repo))


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


def _publish(api: PullRequestApi, plan: pub.Plan, prior: pub.Prior, pull, result: ReviewResult | None,
             since: str | None, cost: pub.CostState, model: str, login: str):
    """Send the plan: settle old threads, post the review, edit the summary last (the commit point).

    Returns (URL of the review or summary, the summary's body findings, inline comments posted)."""
    head = pull.head_sha
    key = f'"head":"{head}"'                  # in this run's summary/update marker only
    calls = result.calls if result else ()
    verdict = (result.verdict if result else None) or prior.state.get("verdict")
    complete = result.complete if result else True
    open_prior = sum(1 for t in prior.threads if not t.fixed and t not in plan.gone)

    def revalidate():
        return {fc.path: fc for fc in (file_change(f) for f in api.files())}

    api.wait_for_rate(2 + len(plan.deletes) + len(plan.replies))
    if prior.summary is None:
        def render_summary(findings, n_inline):
            return pub.summary_body(overview=result.overview if result else None, latest=None, verdict=verdict,
                                    complete=complete, open_inline=open_prior + n_inline,
                                    findings=plan.carried + findings, calls=calls, model=model, cost=cost,
                                    head_sha=head, prior_omitted=prior.omitted)
        pub.settle(api, plan, login)
        draft = pub.Draft(head, plan.inline, plan.body_new, render_summary, key)
        posted, final = pub.post_review(api, draft, login, revalidate)
        return posted.html_url, plan.carried + final.findings, len(final.comments)

    pub.settle(api, plan, login)
    url, final_findings, n_inline = prior.summary.html_url, (), 0
    if plan.new_count:
        def render_update(findings, n_inline):
            return pub.update_body(findings, n_inline, since or prior.reviewed or head, head, calls, model)
        draft = pub.Draft(head, plan.inline, plan.body_new, render_update, key)
        posted, final = pub.post_review(api, draft, login, revalidate)
        url, final_findings, n_inline = posted.html_url, final.findings, len(final.comments)
    body_findings = plan.carried + tuple(b for b in final_findings
                                         if b.fingerprint not in {c.fingerprint for c in plan.carried})
    incremental = since is not None or result is None
    body = pub.summary_body(
        overview=prior.overview if incremental else (result.overview if result else None),
        latest=pub.latest_text(result.overview if result else None, prior.reviewed or head, head,
                               reviewed=result is not None) if incremental else None,
        verdict=verdict, complete=complete, open_inline=open_prior + n_inline, findings=body_findings, calls=calls,
        model=model, cost=cost, head_sha=head, prior_omitted=prior.omitted)
    api.edit_review(prior.summary.id, body)
    return url, body_findings, n_inline
