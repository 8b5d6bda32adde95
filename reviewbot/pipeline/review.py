"""The orchestrator: change -> workspace -> seven specialists -> summary -> ReviewResult.

It wires the pure parts (plan, prompts, requests, merging) to the one thing that talks to the
network, a Transport passed in. The cache schedule lives here: the shared prefix is written once
(by a leader call whose message_start event releases the others, or by a max_tokens=0 pre-warm)
and every other call is dispatched after that and inside the TTL, which is checked and reported.

What the live API does is handled here too:
- a leader that fails before its first event is not replaced one by one: the error decides
  (`leader_failure_is_fatal`) whether the run fails at once (exit 4) or the others fan out;
- the followers are released only when the budget still covers them, estimated from the leader's
  message_start usage; otherwise the review stops as a labelled partial review (exit 5);
- the whole review has a deadline (`deadline_seconds`): at the deadline it ends as a labelled
  partial review, every finished agent kept (and saved with --keep-workspace);
- an unexpected exception in one agent fails that agent only;
- cache diagnostics: every follower names the leader's message id, and a fan-out of five or more
  calls whose hit rate is under 80% of its bound gets a warning with the API's miss reasons.

Progress goes to `on_event` as typed events (reviewbot.domain.events), never as text; the result is
a reviewbot.domain.result.ReviewResult, which every consumer reads without importing this module.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path

from reviewbot.agents.loop import AgentResult, Limits, run_agent
from reviewbot.agents.requests import Prefix, build_prewarm, effort_in_force
from reviewbot.agents.tools import ToolBox
from reviewbot.config import Config, check_models
from reviewbot.domain.change import Change
from reviewbot.domain.enums import VERDICTS
from reviewbot.domain.events import (
    AgentFailed,
    AgentFinished,
    AgentStarted,
    DeadlineReached,
    Event,
    LeaderFailed,
    ManipulationFound,
    OnEvent,
    PrefixBuilt,
    RelatedCodeAdded,
    RelatedCodeUnavailable,
    Resumed,
    SecretsFound,
    SummarySkipped,
    ignore,
)
from reviewbot.domain.findings import Submission
from reviewbot.domain.result import AgentStatus, Related, ReviewResult, Schedule, Status
from reviewbot.domain.specialists import SUMMARY, by_name, selected
from reviewbot.errors import APIError, BudgetExceeded, CredentialsError
from reviewbot.llm.models import model_info
from reviewbot.llm.transport import Start, Transport
from reviewbot.llm.usage import CallRecord, cost, fan_out_hit_rate
from reviewbot.output.safety import fence
from reviewbot.pipeline.manipulation import SCANNER as INJECTION_SCANNER
from reviewbot.pipeline.manipulation import scan as scan_manipulation
from reviewbot.pipeline.merge import apply_summary, derive_verdict, findings_for_summary, first_pass
from reviewbot.pipeline.resume import load as load_state
from reviewbot.pipeline.resume import save_agent, save_run
from reviewbot.pipeline.schedule import Budget, Runner, followers_cost, output_estimate
from reviewbot.repo.related import RELATED_FILE, budget_for, build_related
from reviewbot.repo.tree import Repository
from reviewbot.secrets import SCANNER, Secret, known_secrets, redact_finding, redact_output
from reviewbot.secrets import findings as secret_findings
from reviewbot.secrets import scan as scan_secrets
from reviewbot.templates import render
from reviewbot.workspace.files import Workspace, write_workspace
from reviewbot.workspace.layout import CONTEXT_FILE, PRELOADED_FILE, Plan, build_plan, preloaded_bundle, render_context


def specialist_delta(name: str, plan: Plan, config: Config) -> str:
    spec = by_name(name)
    files = plan.assigned(name)
    scoped = []
    for glob, text in config.path_instructions:
        paths = [pf.file.path for pf in files if fnmatch(pf.file.path, glob)]
        if paths:
            scoped.append((glob, text, paths))
    return render("specialist_role.md.j2", specialist=spec, focus_text=render(spec.prompt),
                  files=files, extra=config.instructions_for(name), scoped=scoped)


def prepare(change: Change, config: Config, workspace_dir: Path, resume: bool = False,
            repo: Repository | None = None) -> tuple[Workspace, Prefix]:
    """Plan, render and write the workspace (or check it, to resume); return it with the shared
    prefix. `repo` (the trees at head and base) gives the related-code section, the last read of
    the prefix. No network. An unknown model or an effort the model lacks is a ConfigError first."""
    check_models(config)
    specialists = selected(config.specialists)
    plan = build_plan(change, specialists, config.max_patch_chars, config.preload_chars,
                      tiered=config.routing == "tiered", max_files=config.max_files, excluded=config.excluded,
                      summarised=config.summarise)
    related = build_related(change, repo, budget_for(change, config.related_code_tokens)) if plan.specialists \
        else Related("", 0, 0, 0, 0)
    context = render_context(change, plan, specialists, related=bool(related.text), repository=repo is not None)
    bundle = preloaded_bundle(plan)
    preloaded = ((PRELOADED_FILE, bundle),) if bundle else ()
    extra = preloaded + (((RELATED_FILE, related.text),) if related.text else ())
    ws = write_workspace(workspace_dir, plan, context, resume=resume, sources=change.sources, extra=extra)
    reads = ((CONTEXT_FILE, context),) + extra
    prefix = Prefix(model=config.model, system_text=render("system.md.j2"), opening=render("opening.md.j2"),
                    reads=reads, base_ttl=config.base_ttl, naive=config.mode == "naive", effort=config.effort,
                    batch_ttl=config.batch_ttl)
    return replace(ws, related=related, repo=repo), prefix


def leader_failure_is_fatal(error: Exception | None) -> bool:
    """A leader failed before its first event: does that end the run at once? Yes for a refused key,
    a 4xx, a 429 or 5xx/529 that survived the SDK's retries, a connection that cannot be made or a
    timeout: every other call would meet the same. No for a 413 (this request's own size) and for a
    failure that is not the API's (the others are then fanned out)."""
    if isinstance(error, BudgetExceeded):
        return True
    if not isinstance(error, APIError):
        return False
    return error.status != 413


@dataclass
class _FanOut:
    """The state of one fan-out, readable after a cancellation (the deadline)."""

    results: dict[str, AgentResult] = field(default_factory=dict)
    previous_id: str | None = None            # the message whose prefix every follower reads
    prefix_tokens: int = 0                    # the shared prefix, as the first call was billed
    not_started: dict[str, str] = field(default_factory=dict)      # name -> why
    notes: list[str] = field(default_factory=list)
    tool_log: list[tuple[str, str, int]] = field(default_factory=list)   # (agent, tool, calls)


async def _fan_out(runner: Runner, ws: Workspace, prefix: Prefix, config: Config, limits: Limits,
                   finished: dict[str, AgentResult], keep_state: bool, state: _FanOut) -> None:
    names = [s.name for s in ws.plan.specialists if s.name not in finished]
    warmup = "none" if config.mode == "naive" else config.warmup
    if warmup == "prewarm" and names:
        rec, _ = await runner.send(build_prewarm(prefix), "prewarm")
        state.previous_id = rec.message_id or None
        state.prefix_tokens = rec.usage.cache_write + rec.usage.cache_read
    tasks: list[asyncio.Task[AgentResult]] = []

    def start(name: str, on_start: Callable[[Start], None] | None = None) -> None:
        runner.on_event(AgentStarted(name))
        result = state.results[name] = AgentResult(name)
        tasks.append(asyncio.create_task(_agent(
            name, specialist_delta(name, ws.plan, config), prefix, runner, ws, limits, keep_state, config,
            result, on_start, state.previous_id, state.tool_log)))

    rest = list(names)
    if warmup == "leader" and rest:
        began: list[Start] = []
        signal = asyncio.Event()

        def on_start(s: Start) -> None:
            began.append(s)
            signal.set()
        leader = rest.pop(0)
        start(leader, on_start)
        waiter = asyncio.create_task(signal.wait())
        await asyncio.wait({waiter, tasks[-1]}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not began:
            error = tasks[-1].exception()
            if error is not None:
                raise error                     # e.g. the key was refused: the others would be too
            failed = tasks[-1].result()
            if failed.failure is not None and leader_failure_is_fatal(failed.failure):
                runner.on_event(LeaderFailed(leader, len(rest)))
                raise failed.failure
            state.notes.append(f"the first reviewer ({leader}) failed before its first event ({failed.error}); "
                               "the others were started without a leader")
        else:
            s0 = began[0]
            state.previous_id = s0.message_id or None
            state.prefix_tokens = s0.usage.cache_write + s0.usage.cache_read
            if config.budget_dollars and rest:
                efforts = [effort_in_force(prefix, config.effort_for(n)) for n in rest + [SUMMARY]]
                ahead = (runner.spent() + cost(s0.usage, prefix.model)
                         + cost(type(s0.usage)(output_tokens=output_estimate(prefix.model, effort_in_force(
                             prefix, config.effort_for(leader)))), prefix.model)
                         + followers_cost(prefix.model, state.prefix_tokens, s0.usage.input_tokens, efforts))
                if ahead > config.budget_dollars:
                    why = (f"not started: the budget of ${config.budget_dollars:.2f} does not cover it (estimated "
                           f"${ahead:.4f} for the whole review from the first call's usage)")
                    for n in rest:
                        state.not_started[n] = why
                    state.notes.append(f"budget: {len(rest)} reviewer(s) not started: estimated ${ahead:.4f} "
                                       f"for the whole review, over the budget of ${config.budget_dollars:.2f}")
                    rest = []
    for name in rest:
        start(name)
    stop, warm = asyncio.Event(), None
    if config.mode != "naive" and tasks:
        warm = asyncio.create_task(runner.keep_warm(build_prewarm(prefix), config.cache_ttl_seconds, stop))
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        stop.set()
        if warm is not None:
            await warm


async def _agent(name: str, delta: str, prefix: Prefix, runner: Runner, ws: Workspace, limits: Limits,
                 keep_state: bool, config: Config, result: AgentResult,
                 on_start: Callable[[Start], None] | None = None, previous_id: str | None = None,
                 tool_log: list[tuple[str, str, int]] | None = None) -> AgentResult:
    """One agent run; with keep_state its result is saved the moment it finishes. An unexpected
    exception fails this agent only (the others go on); a refused key still ends the run. The
    reading tools' call counts go to `tool_log`."""
    tools = ToolBox(ws.root, ws.repo)
    try:
        r = await run_agent(name, delta, prefix, runner.send, ws.root, limits, on_first_byte=on_start,
                            on_event=runner.on_event, effort=config.effort_for(name),
                            previous_message_id=previous_id, fallback_model=config.fallback_model, result=result,
                            tools=tools)
    except CredentialsError:
        raise
    except asyncio.CancelledError:
        result.error = result.error or "stopped at the review's deadline"
        raise
    except Exception as e:           # noqa: BLE001 - not swallowed: it is this agent's failure, reported
        result.error = f"internal error: {type(e).__name__}: {e}"
        r = result
    finally:
        if tool_log is not None:
            tool_log.extend((name, str(tool), n) for tool, n in tools.counts.items())
    if keep_state:
        save_agent(ws.root, r)
    runner.on_event(_outcome(r))              # the moment it finishes, not after the whole fan-out
    return r


def _outcome(r: AgentResult) -> Event:
    st = _status(r, ())
    return AgentFinished(r.name, st.findings) if st.status == Status.OK else AgentFailed(r.name, st.error or "")


def _status(r: AgentResult, files: tuple[str, ...]) -> AgentStatus:
    if r.error or r.submission is None:
        return AgentStatus(r.name, Status.FAILED, 0, files, r.error or "; ".join(r.notes) or "no submission",
                           tuple(r.notes))
    return AgentStatus(r.name, Status.OK, len(r.submission.findings), files, None, tuple(r.notes))


async def run_review(change: Change, config: Config, transport: Transport, workspace_dir: Path,
                     on_event: OnEvent = ignore, keep_state: bool = False,
                     resume: bool = False, known: tuple[str, ...] | None = None,
                     repo: Repository | None = None) -> ReviewResult:
    """Review `change`. keep_state saves every finished agent in workspace_dir/state; resume reuses
    the agents a saved run finished (same change and configuration) and runs only the rest. `known`:
    the secrets of the change (reviewbot.secrets.known_secrets), when the caller has them already.
    `repo` (the repository at head and base) lets the reviewers read and search around the change."""
    ws, prefix = prepare(change, config, workspace_dir, resume=resume, repo=repo)
    runner = Runner(transport, on_event, Budget(config.budget_calls, config.budget_tokens, config.budget_dollars),
                    config.itpm_limit, max_retries=config.max_retries)
    deadline = runner.clock() + config.deadline_seconds
    if ws.related is not None and ws.related.note:
        on_event(RelatedCodeUnavailable(ws.related.note))
    if ws.related is not None and ws.related.text:
        on_event(RelatedCodeAdded(ws.related.shown, ws.related.tokens, ws.related.budget, ws.related.omitted))
    sha = prefix.sha256()
    on_event(PrefixBuilt(sha))
    finished = load_state(ws.root, sha) if resume else {}
    if finished:
        on_event(Resumed(tuple(sorted(finished)), str(ws.root)))
    if keep_state and not resume:
        save_run(ws.root, {"prefix_sha256": sha, "model": config.model, "base": change.meta.base_sha,
                           "head": change.meta.head_sha})
    limits = Limits(config.max_turns, config.max_output_tokens)
    all_specs = selected(config.specialists)
    idle = tuple(AgentStatus(s.name, Status.IDLE, notes=(
        f"{ws.plan.tier.name} tier: {ws.plan.tier.reason}" if s in ws.plan.applicable else "no file of its kinds",))
        for s in all_specs if s not in ws.plan.specialists)

    state = _FanOut()
    partial_reason = None
    fan = asyncio.create_task(_fan_out(runner, ws, prefix, config, limits, finished, keep_state, state))
    # The secret scans read nothing but the change, and on a large one they take seconds (detect-secrets
    # over every line of the diff and of the full files): they run in a worker thread while the
    # reviewers' calls are in flight (created after the fan-out, so the leader is dispatched first), and
    # are awaited where their result is first needed, after the fan-out and before the summary.
    scans = asyncio.create_task(asyncio.to_thread(_secret_scans, change, known))
    try:
        done, _ = await asyncio.wait({fan}, timeout=max(0.0, deadline - runner.clock()))
        if not done:
            fan.cancel()
            await asyncio.gather(fan, return_exceptions=True)
            stopped = DeadlineReached(config.deadline_seconds)
            partial_reason = stopped.reason
            on_event(stopped)
        else:
            fan.result()                      # a fatal error (refused key, API down) ends the run here
    except BaseException:
        scans.cancel()                        # the thread runs to its end; nothing waits for its result
        await asyncio.gather(scans, return_exceptions=True)
        raise
    results = []
    for s in ws.plan.specialists:
        r = finished.get(s.name) or state.results.get(s.name)
        if r is None:
            r = AgentResult(s.name, error=state.not_started.get(s.name) or "not started: the review's deadline")
        results.append(r)
    if state.not_started and partial_reason is None:
        partial_reason = next(iter(state.not_started.values()))
    statuses = [_status(r, tuple(pf.file.path for pf in ws.plan.assigned(r.name))) for r in results]
    api_failures = [r.failure for r in results if r.error and isinstance(r.failure, APIError)]
    if results and len(api_failures) == len(results):         # every reviewer met the API's failure
        scans.cancel()
        await asyncio.gather(scans, return_exceptions=True)
        raise api_failures[0]
    # Secrets found in the change are findings of their own, and no text that came from a model
    # carries one further (not to the summary agent, not to the output).
    secrets, known = await scans
    if secrets:
        on_event(SecretsFound(len(secrets)))
    raw = {r.name: _redact_submission(r.submission, known) for r in results}
    ok = {name: sub for name, sub in raw.items() if sub is not None and not _failed(statuses, name)}
    if secrets:
        ok[SCANNER] = Submission(secret_findings(secrets))
    attempts = scan_manipulation(change)
    if attempts:
        on_event(ManipulationFound(len(attempts)))
        ok[INJECTION_SCANNER] = Submission(tuple(redact_finding(f, known) for f in attempts))
    fp = first_pass(ok, change, config.min_confidence)

    summary_status, verdict_sub = None, None
    # The summary agent verifies what the specialists raised; with nothing of theirs to verify (none
    # raised a finding; the scanners' findings are deterministic) it is not called: the verdict comes
    # from the findings' severities.
    to_verify = [f for f in fp.findings if f.specialist not in (SCANNER, INJECTION_SCANNER)]
    skipped_summary = bool(results) and not to_verify
    if skipped_summary:
        on_event(SummarySkipped())
    if results and to_verify:
        delta = render("summary.md.j2", findings=fence("specialist-findings", findings_for_summary(fp.findings))
                       if fp.findings else "", count=len(fp.findings),
                       failed=[s for s in statuses if s.status == Status.FAILED], idle=[s.name for s in idle])
        on_event(AgentStarted(SUMMARY))
        reran = any(s.name not in finished for s in ws.plan.specialists)
        sr = (not reran and finished.get(SUMMARY)) or None
        if sr is None:
            sr = AgentResult(SUMMARY)
            left = deadline - runner.clock()
            if left <= 0:
                sr.error = "not run: the review's deadline was reached"
            else:
                task = asyncio.create_task(_agent(SUMMARY, delta, prefix, runner, ws, limits, keep_state, config,
                                                  sr, None, state.previous_id, state.tool_log))
                ended, _ = await asyncio.wait({task}, timeout=left)
                if not ended:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    partial_reason = partial_reason or (f"the review's deadline ({config.deadline_seconds:g}s) "
                                                        "was reached during the summary")
                else:
                    sr = task.result()
        summary_status = _status(sr, ())
        verdict_sub = _redact_submission(sr.submission, known) if summary_status.status == Status.OK else None
    verdict = apply_summary(fp.findings, verdict_sub, change, config.min_confidence)

    notes = list(verdict.notes)
    verdict_name = verdict_sub.verdict if verdict_sub else None
    if verdict_name is None:
        verdict_name = derive_verdict(verdict.findings)
        notes.append("verdict derived from the findings' severities (the summary agent was not run: nothing "
                     "to verify)" if skipped_summary else
                     "verdict derived from the findings' severities (the summary agent gave none)")
    floor = derive_verdict(tuple(f for f in verdict.findings if f.specialist in (SCANNER, INJECTION_SCANNER)))
    if VERDICTS.index(floor) > VERDICTS.index(verdict_name):     # a scanner's finding is not talked down
        notes.append(f"verdict raised from {verdict_name} to {floor} by the deterministic scanners' findings")
        verdict_name = floor
    notes += runner.notes + state.notes
    notes += _model_notes(config, prefix)
    notes += cache_notes(tuple(runner.records), state.prefix_tokens)
    if finished:
        notes.append(f"resumed: {len(finished)} finished agent(s) reused, their "
                     f"{sum(len(r.calls) for r in finished.values())} call(s) not repeated")
    schedule = None
    if runner.dispatched:
        schedule = Schedule("none" if config.mode == "naive" else config.warmup, sha, config.cache_ttl_seconds,
                            tuple((label, round(t, 3)) for label, t in runner.dispatched))
        if not schedule.within_ttl:
            notes.append(f"the shared prefix went unused for longer than its {config.cache_ttl_seconds:.0f}s TTL "
                         f"(longest gap {schedule.longest_gap:.1f}s)")
    order = [s.name for s in all_specs]
    return ReviewResult(
        meta=change.meta, files_changed=len(change.files), additions=change.additions, deletions=change.deletions,
        findings=verdict.findings, verdict=verdict_name, overview=verdict_sub.overview if verdict_sub else None,
        agents=tuple(sorted(statuses, key=lambda s: order.index(s.name))) + idle,
        summary=summary_status, rejected=verdict.rejected, low_confidence=fp.low_confidence,
        duplicates_folded=fp.merged + verdict.duplicates,
        calls=tuple(sorted(runner.records, key=lambda c: c.started)), schedule=schedule, notes=tuple(notes),
        raw=raw, partial_reason=partial_reason, secrets=known,
        related=ws.related, tool_calls=tuple(state.tool_log))


def _secret_scans(change: Change, known: tuple[str, ...] | None) -> tuple[tuple[Secret, ...], tuple[str, ...]]:
    """The secrets the change commits, and every secret value redaction replaces (`known`, when the
    caller has them, and those found). Pure: run in a worker thread beside the fan-out."""
    secrets = scan_secrets(change)
    return secrets, tuple(dict.fromkeys((*(known_secrets(change) if known is None else known),
                                         *(s.value for s in secrets))))


def _model_notes(config: Config, prefix: Prefix) -> list[str]:
    info = model_info(config.model)
    own = [n for n in (config.specialist_effort or ()) if n[1] != info.effort_or_default(config.effort)]
    if (own or config.summary_effort) and not info.per_message_effort:
        return [f"{config.model} has no per-message effort: one effort "
                f"({info.effort_or_default(config.effort) or 'none'}) for the whole review"]
    return []


def cache_notes(records: tuple[CallRecord, ...], prefix_tokens: int) -> list[str]:
    """The API's miss reasons for the calls that missed the shared prefix, and a warning when a fan-out
    of five or more calls reads less than 80% of what it could (its bound)."""
    notes = []
    for r in records:
        if r.cache_miss and prefix_tokens and r.usage.cache_read < prefix_tokens and r.label != "keep-warm":
            notes.append(f"cache miss on {r.label}: {r.cache_miss.get('type')}"
                         + (f" ({r.cache_miss['cache_missed_input_tokens']} tokens)"
                            if r.cache_miss.get("cache_missed_input_tokens") is not None else ""))
    rate = fan_out_hit_rate(records, prefix_tokens)
    if rate is not None and rate[0] < 0.8 * rate[1]:
        notes.append(f"cache warning: the fan-out's hit rate {rate[0]:.0%} is under 80% of its bound {rate[1]:.0%}")
    return notes


def _failed(statuses: list[AgentStatus], name: str) -> bool:
    return any(s.name == name and s.status == Status.FAILED for s in statuses)


def _redact_submission(sub: Submission | None, known: tuple[str, ...]) -> Submission | None:
    if sub is None:
        return sub
    findings = tuple(redact_finding(f, known) for f in sub.findings)
    return replace(sub, findings=findings, overview=sub.overview and redact_output(sub.overview, known))
