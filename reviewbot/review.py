"""The orchestrator: change -> workspace -> seven specialists -> summary -> ReviewResult.

It wires the pure parts (plan, prompts, requests, merging) to the one thing that talks to the
network, a Transport passed in. The cache schedule lives here: the shared prefix is written once
(by a leader call whose first byte releases the others, or by a max_tokens=0 pre-warm) and every
other call is dispatched after that and inside the TTL, which is checked and reported.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable

from .change.model import Change, ChangeMeta
from .config import Config
from .errors import APIError
from .llm import Transport
from .resume import load as load_state
from .resume import save_agent, save_run
from .scheduling import Budget, Runner
from .secrets import SCANNER, redact
from .secrets import findings as secret_findings
from .secrets import scan as scan_secrets
from .specialists.agent import AgentResult, Limits, run_agent
from .specialists.findings import Finding, Submission
from .specialists.registry import SUMMARY, by_name, selected
from .specialists.requests import Prefix, build_prewarm
from .summary.merge import apply_summary, derive_verdict, findings_for_summary, first_pass
from .templates import render
from .usage import CallRecord
from .workspace.fence import fence
from .workspace.files import Workspace, write_workspace
from .repo.related import RELATED_FILE, Related, budget_for, build_related
from .repo.tree import Repository
from .specialists.tools import ToolBox
from .workspace.layout import CONTEXT_FILE, Plan, build_plan, render_context


@dataclass(frozen=True)
class AgentStatus:
    name: str
    status: str                 # "ok", "failed", "idle" (no file of its kinds)
    findings: int = 0
    files: tuple[str, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """When each call that carried the shared prefix was dispatched (seconds from the first one).

    Every call reads, and so refreshes, the cached prefix; the prefix stays warm as long as no gap
    between consecutive dispatches reaches the TTL."""

    strategy: str
    prefix_sha256: str
    ttl_seconds: float
    dispatch_offsets: tuple[tuple[str, float], ...]

    @property
    def longest_gap(self) -> float:
        times = sorted(t for _, t in self.dispatch_offsets)
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    @property
    def within_ttl(self) -> bool:
        return self.longest_gap < self.ttl_seconds


@dataclass(frozen=True)
class ReviewResult:
    meta: ChangeMeta
    files_changed: int
    additions: int
    deletions: int
    findings: tuple[Finding, ...]
    verdict: str | None
    overview: str | None
    agents: tuple[AgentStatus, ...]
    summary: AgentStatus | None
    rejected: tuple[tuple[Finding, str], ...]
    low_confidence: tuple[Finding, ...]
    duplicates_folded: int
    calls: tuple[CallRecord, ...]
    schedule: Schedule | None
    notes: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False)       # specialist -> its raw submission
    related: Related | None = None              # the related-code section of the shared prefix
    tool_calls: tuple[tuple[str, str, int], ...] = ()   # (agent, tool, calls) of the reading tools

    @property
    def complete(self) -> bool:
        return all(a.status != "failed" for a in self.agents) and (self.summary is None or
                                                                  self.summary.status == "ok")


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
    the prefix. No network."""
    specialists = selected(config.specialists)
    plan = build_plan(change, specialists, config.max_patch_chars, config.preload_chars,
                      tiered=config.routing == "tiered", max_files=config.max_files, excluded=config.excluded,
                      summarised=config.summarise)
    related = build_related(change, repo, budget_for(change, config.related_code_tokens)) if plan.specialists \
        else Related("", 0, 0, 0, 0)
    context = render_context(change, plan, specialists, related=bool(related.text), repository=repo is not None)
    extra = ((RELATED_FILE, related.text),) if related.text else ()
    ws = write_workspace(workspace_dir, plan, context, resume=resume, sources=change.sources, extra=extra)
    reads = ((CONTEXT_FILE, context),) + tuple((pf.patch_file, pf.patch_text) for pf in plan.files if pf.preloaded)
    reads += extra
    prefix = Prefix(model=config.model, system_text=render("system.md.j2"), opening=render("opening.md.j2"),
                    reads=reads, base_ttl=config.base_ttl, naive=config.mode == "naive")
    return replace(ws, related=related, repo=repo), prefix


async def _fan_out(runner: Runner, ws: Workspace, prefix: Prefix, config: Config, limits: Limits,
                   finished: dict[str, AgentResult], keep_state: bool, tool_log: list) -> list[AgentResult]:
    names = [s.name for s in ws.plan.specialists if s.name not in finished]
    warmup = "none" if config.mode == "naive" else config.warmup
    if warmup == "prewarm" and names:
        await runner.send(build_prewarm(prefix), "prewarm")
    tasks: list[asyncio.Task] = []

    def start(name: str, first_byte=None):
        runner.on_event(f"{name}: started")
        tasks.append(asyncio.create_task(_agent(
            name, specialist_delta(name, ws.plan, config), prefix, runner, ws, limits, keep_state, tool_log,
            first_byte)))

    rest = list(names)
    while warmup == "leader" and rest:
        # One leader at a time until one has a first byte: the prefix is then being written, and the
        # others can read it. A leader that fails before that hands the role to the next one.
        began = asyncio.Event()
        start(rest.pop(0), began.set)
        waiter = asyncio.create_task(began.wait())
        await asyncio.wait({waiter, tasks[-1]}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if tasks[-1].done() and tasks[-1].exception() is not None:
            raise tasks[-1].exception()         # e.g. the key was refused: the others would be too
        if began.is_set():
            break
    for name in rest:
        start(name)
    stop, warm = asyncio.Event(), None
    if config.mode != "naive" and tasks:
        warm = asyncio.create_task(runner.keep_warm(build_prewarm(prefix), config.cache_ttl_seconds, stop))
    try:
        done = {r.name: r for r in await asyncio.gather(*tasks)}
    except BaseException:
        for t in tasks:
            t.cancel()
        raise
    finally:
        stop.set()
        if warm is not None:
            await warm
    return [finished.get(s.name) or done[s.name] for s in ws.plan.specialists]


async def _agent(name: str, delta: str, prefix: Prefix, runner: Runner, ws: Workspace, limits: Limits,
                 keep_state: bool, tool_log: list, first_byte=None) -> AgentResult:
    """One agent run; with keep_state its result is saved the moment it finishes."""
    tools = ToolBox(ws.root, ws.repo)
    r = await run_agent(name, delta, prefix, runner.send, ws.root, limits, on_first_byte=first_byte,
                        on_event=runner.on_event, tools=tools)
    tool_log.extend((name, tool, n) for tool, n in tools.counts.items())
    if keep_state:
        save_agent(ws.root, r)
    runner.on_event(_outcome(r))              # the moment it finishes, not after the whole fan-out
    return r


def _outcome(r: AgentResult) -> str:
    st = _status(r, ())
    return f"{r.name}: " + (f"done with {st.findings} finding(s)" if st.status == "ok" else f"failed: {st.error}")


def _status(r: AgentResult, files: tuple[str, ...]) -> AgentStatus:
    if r.error or r.submission is None:
        return AgentStatus(r.name, "failed", 0, files, r.error or "; ".join(r.notes) or "no submission",
                           tuple(r.notes))
    return AgentStatus(r.name, "ok", len(r.submission.findings), files, None, tuple(r.notes))


async def run_review(change: Change, config: Config, transport: Transport, workspace_dir: Path,
                     on_event: Callable[[str], None] = lambda m: None, keep_state: bool = False,
                     resume: bool = False, repo: Repository | None = None) -> ReviewResult:
    """Review `change`. keep_state saves every finished agent in workspace_dir/state; resume reuses
    the agents a saved run finished (same change and configuration) and runs only the rest. `repo`
    (the repository at head and base) lets the reviewers read and search around the change."""
    ws, prefix = prepare(change, config, workspace_dir, resume=resume, repo=repo)
    runner = Runner(transport, on_event, Budget(config.budget_calls, config.budget_tokens, config.budget_dollars),
                    config.itpm_limit)
    tool_log: list[tuple[str, str, int]] = []
    if ws.related is not None and ws.related.note:
        on_event(ws.related.note)
    if ws.related is not None and ws.related.text:
        on_event(f"related code: {ws.related.shown} snippet(s), ~{ws.related.tokens} tokens "
                 f"(budget {ws.related.budget}; {ws.related.omitted} left out)")
    sha = prefix.sha256()
    on_event(f"shared prefix sha256 {sha}")
    finished = load_state(ws.root, sha) if resume else {}
    if finished:
        on_event(f"resume: reusing {', '.join(sorted(finished))} from {ws.root}")
    if keep_state and not resume:
        save_run(ws.root, {"prefix_sha256": sha, "model": config.model, "base": change.meta.base_sha,
                           "head": change.meta.head_sha})
    limits = Limits(config.max_turns, config.max_output_tokens)
    all_specs = selected(config.specialists)
    idle = tuple(AgentStatus(s.name, "idle", notes=(
        f"{ws.plan.tier.name} tier: {ws.plan.tier.reason}" if s in ws.plan.applicable else "no file of its kinds",))
        for s in all_specs if s not in ws.plan.specialists)

    results = await _fan_out(runner, ws, prefix, config, limits, finished, keep_state, tool_log)
    statuses = [_status(r, tuple(pf.file.path for pf in ws.plan.assigned(r.name))) for r in results]
    if results and all(r.error for r in results):
        raise APIError(results[0].error)
    # Secrets found in the change are findings of their own, and no text that came from a model
    # carries one further (not to the summary agent, not to the output).
    secrets = scan_secrets(change)
    if secrets:
        on_event(f"secret-scan: {len(secrets)} possible secret(s) in added lines")
    raw = {r.name: _redact_submission(r.submission, secrets) for r in results}
    ok = {name: sub for name, sub in raw.items() if sub is not None and not _failed(statuses, name)}
    if secrets:
        ok[SCANNER] = Submission(secret_findings(secrets))
    fp = first_pass(ok, change, config.min_confidence)

    summary_status, verdict_sub = None, None
    if results:
        delta = render("summary.md.j2", findings=fence("specialist-findings", findings_for_summary(fp.findings))
                       if fp.findings else "", count=len(fp.findings),
                       failed=[s for s in statuses if s.status == "failed"], idle=[s.name for s in idle])
        on_event("summary: started")
        reran = any(s.name not in finished for s in ws.plan.specialists)
        sr = (not reran and finished.get(SUMMARY)) or await _agent(SUMMARY, delta, prefix, runner, ws, limits,
                                                                   keep_state, tool_log)
        summary_status = _status(sr, ())
        verdict_sub = _redact_submission(sr.submission, secrets) if summary_status.status == "ok" else None
    verdict = apply_summary(fp.findings, verdict_sub, change, config.min_confidence)

    notes = list(verdict.notes)
    verdict_name = verdict_sub.verdict if verdict_sub else None
    if verdict_name is None:
        verdict_name = derive_verdict(verdict.findings)
        notes.append("verdict derived from the findings' severities (the summary agent gave none)")
    notes += runner.notes
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
        raw=raw, related=ws.related, tool_calls=tuple(tool_log))


def _failed(statuses: list[AgentStatus], name: str) -> bool:
    return any(s.name == name and s.status == "failed" for s in statuses)


def _redact_submission(sub: Submission | None, secrets) -> Submission | None:
    if sub is None or not secrets:
        return sub
    findings = tuple(replace(f, title=redact(f.title, secrets), explanation=redact(f.explanation, secrets),
                             suggestion=redact(f.suggestion, secrets)) for f in sub.findings)
    return replace(sub, findings=findings, overview=redact(sub.overview, secrets))
