"""`reviewbot bulk --github OWNER/NAME N ...`: many pull requests of one repository reviewed together
in batch mode, each review posted as `reviewbot github` posts it.

The sequence, per PR, is the single run's (github/run.py), split where the batch goes in:
1. the read step, `run.prepare`, for every PR in turn: the skip decisions (closed, draft), the PR,
   the bot's earlier posts on it (an already reviewed head is completed there and posts nothing new),
   the base branch's config and rules, the ignore file, the Change (whole, or the commits since the
   last reviewed head). A PR that cannot be read (not found, no access, a bad config in its base)
   is reported on its line and left out; the others go on.
2. one batch run over every PR to review (pipeline.batch.run_batch_reviews on one BatchQueue; PRs
   whose base configs differ run as groups over the same queue, so their items share each batch).
   A batch that cannot be created or read (a refused key, the API down) ends the run: nothing is
   posted (exit 4), as for the local bulk.
3. the post step, `run.publish_review`, for each review: redacted, written to --out like the local
   bulk, then planned and posted with the single run's guarantees (re-check right before posting,
   reconcile right after, cleanup, summary edit; never two reviews of one head). The PR's head is read
   again first (`recheck_head`): a head that moved while the batch ran gets the review of the head
   that was read, on that commit and marked as that head's, never as the new one's; the next run
   reviews the commits pushed since. `--no-post` posts nothing.
stdout gets one line per PR, in the order given; stderr the progress of the batch and each PR's status;
on Actions the job summary gets the same lines and the usage line (github.actions.bulk_step_summary).
The exit code: a PR that failed gives its error's code (2, 3 or 4; the first failure's), over 1 (--fail-on
reached on some PR), over 5 (some review partial), over 0.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reviewbot.config import Config, with_overrides
from reviewbot.domain.events import OfReview
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigError,
    MissingCredentials,
    Outcome,
    ReviewbotError,
)
from reviewbot.github.actions import append_step_summary, bulk_step_summary
from reviewbot.github.api import PullRequestApi
from reviewbot.github.event import ActionsEnv, manual_event
from reviewbot.github.run import Out, Ran, Ready, prepare, publish_review, pull_api, pull_repository, redacted
from reviewbot.llm import providers
from reviewbot.llm.batches import ConnectBatches
from reviewbot.llm.transport import Connect, Connection
from reviewbot.llm.usage import CallRecord
from reviewbot.output.files import out_dir, write_review
from reviewbot.output.render import review_line
from reviewbot.output.terminal import QUIET, ProgressPrinter, progress_level
from reviewbot.pipeline.batch import Job, batch_run, check_batch_target, run_batch_reviews
from reviewbot.pipeline.metered import Metered


def pull_numbers(specs: list[str]) -> tuple[int, ...]:
    """The PR numbers of the command line (`12`, `#12`), each once, in order; ConfigError otherwise."""
    out: list[int] = []
    for spec in specs:
        text = spec.removeprefix("#")
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"with --github each argument is a pull request number, got {spec!r}")
        out.append(int(text))
    return tuple(dict.fromkeys(out))


@dataclass
class PullRun:
    """One PR of the run and how far it got."""

    index: int
    number: int
    title: str                          # OWNER/NAME#N
    out: Out
    ready: Ready | None = None          # read, to be reviewed
    ran: Ran | None = None              # done: skipped, completed, or reviewed and posted
    error: ReviewbotError | None = None
    path: Path | None = None            # where its review was written

    @property
    def key(self) -> str:
        return f"pr{self.number}"

    def line(self) -> str:
        """The PR's line on stdout."""
        if self.error is not None:
            return f"{self.title}: FAILED: {self.error}"
        result = self.ran.result if self.ran else None
        status = self.out.status or "nothing to do"
        if result is None:
            return f"{self.title}: {status}"
        return f"{self.title}: {review_line(result)}; {status} -> {self.path}"

    def exit_code(self) -> int:
        if self.error is not None:
            return self.error.exit_code
        return self.ran.outcome.exit_code if self.ran else EXIT_OK


def exit_code(prs: list[PullRun]) -> int:
    """A failed PR's code (the first), over 1 (--fail-on reached somewhere), over 5, over 0."""
    codes = [p.exit_code() for p in prs]
    failed = [c for c in codes if c not in (EXIT_OK, EXIT_FINDINGS, EXIT_PARTIAL)]
    if failed:
        return failed[0]
    if EXIT_FINDINGS in codes:
        return EXIT_FINDINGS
    return EXIT_PARTIAL if EXIT_PARTIAL in codes else EXIT_OK


def single_args(args: argparse.Namespace) -> argparse.Namespace:
    """The bulk flags as the single run's (`reviewbot github --repo R --pr N`) flags."""
    return argparse.Namespace(**{**vars(args), "event": None, "repo": args.github, "pr": None, "dry_run": False,
                                 "warmup": None, "keep_workspace": None, "state_dir": None,
                                 "config": str(args.config) if args.config else None})


def _fail(pr: PullRun, e: ReviewbotError) -> None:
    pr.error = e
    pr.out.say(f"{pr.title}: error: {e}", always=True)


def _read(gargs: argparse.Namespace, env: ActionsEnv, pr: PullRun, first: PullRequestApi, connect: Connect) -> None:
    """The read step of one PR (run.prepare); a failure is this PR's only."""
    event = manual_event(gargs.repo, pr.number)
    try:
        got = prepare(gargs, env, pr.out, event, pr.title, connect, api=first.sibling(pr.number))
        if isinstance(got, Ran):
            pr.ran = got
        else:
            check_batch_target(got.source.target)          # the base branch's config may name a cloud platform
            pr.ready = got
    except ReviewbotError as e:
        _fail(pr, e)


def bulk_github(args: argparse.Namespace, connect: Connect, connect_batches: ConnectBatches,
                usage: Callable[[list[CallRecord]], str]) -> Outcome:
    """The run (module docstring). `connect` / `connect_batches` open the model transport and the
    batches client (a test passes its own); `usage` is the local bulk's usage line of the whole run."""
    progress = ProgressPrinter(sys.stderr, progress_level(args.quiet, args.verbose))
    numbers = pull_numbers(list(args.ranges))
    gargs = single_args(args)
    defaults = with_overrides(Config(), model=args.model, **providers.overrides(args))
    check_batch_target(providers.resolve(defaults, os.environ))     # a platform without batches: exit 2 up front
    if not os.environ.get("ANTHROPIC_API_KEY", "").strip():
        raise MissingCredentials("ANTHROPIC_API_KEY is not set")
    # the step outputs and job summary of `reviewbot github` are one PR's: not written per PR; the run's
    # job summary is its lines (bulk_step_summary)
    actions = ActionsEnv.from_environ(os.environ)
    env = replace(actions, output="", step_summary="")
    first = pull_api(gargs, env, gargs.repo, numbers[0])          # one client for every PR (api.sibling)
    out_dir(args.out)

    prs = [PullRun(i, n, f"{gargs.repo}#{n}", Out(env, args.quiet, args.verbose))
           for i, n in enumerate(numbers, 1)]
    for pr in prs:
        _read(gargs, env, pr, first, connect)
    todo = [pr for pr in prs if pr.ready is not None]
    progress.known = tuple(dict.fromkeys(s for pr in todo for s in pr.out.known))

    calls: list[CallRecord] = []
    with tempfile.TemporaryDirectory(prefix="reviewbot-bulk-") as tmp:
        reviewing = [pr for pr in todo if pr.ready is not None and pr.ready.source.change.files]
        results = asyncio.run(_review_all(reviewing, gargs, Path(tmp), progress, connect, connect_batches,
                                          args.state_dir)) if reviewing else {}
    for pr in todo:
        assert pr.ready is not None
        result = results.get(pr.key)
        if result is not None:
            result = redacted(result, pr.out)
            calls += result.calls
            pr.path = write_review(result, args.format, args.out, f"{pr.index:03d}-pr{pr.number}")
        try:
            pr.ran = publish_review(gargs, pr.ready, result, pr.out, pr.title, recheck_head=True)
        except ReviewbotError as e:
            _fail(pr, e)
            pr.ran = Ran(Outcome(e.exit_code), result)
    lines = [pr.line() for pr in prs]
    for line in lines:
        print(line)
    used = usage(calls) if calls else ""
    if progress.level > QUIET and used:
        print(f"reviewbot: {used}", file=sys.stderr)
    if actions.step_summary:
        known = tuple(dict.fromkeys(s for pr in prs for s in pr.out.known))
        append_step_summary(actions.step_summary, bulk_step_summary(gargs.repo, lines, used), known)
    code = exit_code(prs)
    failed = [pr.title for pr in prs if pr.error is not None]
    return Outcome(code, f"{len(failed)} of {len(prs)} pull request(s) failed: {', '.join(failed)}"
                   if failed else None)


async def _review_all(prs: list[PullRun], gargs: argparse.Namespace, tmp: Path, progress: ProgressPrinter,
                      connect: Connect, connect_batches: ConnectBatches,
                      state_dir: Path | None) -> dict[str, ReviewResult]:
    """Every PR's review in one batch run (its batches journalled in `state_dir`, when given: a re-run
    follows them); the results by PR key."""
    readies = [pr.ready for pr in prs if pr.ready is not None]
    lead = readies[0].source
    connection = Connection.of(lead.config, readies[0].api_key, lead.target)
    names = {pr.key: pr.title for pr in prs}
    groups: list[tuple[Config, list[Job]]] = []
    for pr in prs:
        assert pr.ready is not None
        src = pr.ready.source
        repo = pull_repository(pr.ready.api, src.change, src.config, tmp / f"{pr.key}.git", pr.out)
        job = Job(pr.key, src.change, tmp / pr.key, repo, pr.out.known)
        group = next((g for c, g in groups if c == src.config), None)
        if group is None:
            groups.append((src.config, [job]))
        else:
            group.append(job)
    results: dict[str, ReviewResult] = {}
    async with batch_run(connect, connect_batches, connection, gargs.poll_seconds, progress,
                         state_dir) as (transport, queue):
        async def review(config: Config, jobs: list[Job]) -> None:
            done = await run_batch_reviews(jobs, config, queue, lambda _: transport,
                                           lambda key, event: progress(OfReview(names[key], event)),
                                           lambda t: Metered(t, progress), ttl=gargs.batch_ttl)
            results.update(zip((j.key for j in jobs), done, strict=True))
        await asyncio.gather(*(review(c, jobs) for c, jobs in groups))
    return results
