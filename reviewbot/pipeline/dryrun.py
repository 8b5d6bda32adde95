"""The dry run: what a review would send and what it would cost, before anything is spent.

Pure, except for the token counts, which the caller gets from the count_tokens endpoint
(Transport.count_tokens) and passes in. `planned_calls` builds, with the review's own request
builders, the first request of every agent the review would run; the shared prefix alone is the
pre-warm request. Each call's layout is then the shared prefix (identical bytes in every call) plus
the agent's delta (its role and files), and the estimate prices that layout:

- with caching: the shared prefix written once (5-minute write price), read by every other call,
  deltas uncached (a pre-warm adds one call that writes and everyone reads);
- without caching: every input token of the same calls at the base input price;
- both: the output each agent call is expected to take at its effort: the thinking estimate of the
  model table for that effort (thinking is billed as output) plus a typical submission.
The prices, the minimum cacheable length and the tokenizer come from the model table; the estimate
is compared with `budget_dollars` when one is set.
Later turns (an agent's own read_file calls) are not predictable and not counted: with the patches
pre-read into the prefix, agents usually submit on their first turn.
`count` is the one network step, shared by `reviewbot review --dry-run` and `reviewbot github --dry-run`:
it prepares the workspace, counts every planned request and returns the DryRun.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewbot.agents.requests import Prefix, build_prewarm, build_request, effort_in_force
from reviewbot.config import Config
from reviewbot.domain.change import Change, ChangeMeta
from reviewbot.domain.events import OnEvent, TokensCounting
from reviewbot.domain.specialists import SUMMARY, selected
from reviewbot.llm import providers
from reviewbot.llm.models import SUBMISSION_ESTIMATE, model_info
from reviewbot.llm.providers import CHARS_PER_TOKEN
from reviewbot.llm.transport import COUNTED_FIELDS, Connect, Connection
from reviewbot.llm.usage import Usage, cost, price_of
from reviewbot.pipeline.metered import Metered
from reviewbot.pipeline.review import prepare, specialist_delta
from reviewbot.repo.tree import Repository
from reviewbot.templates import render
from reviewbot.workspace.files import Workspace


@dataclass(frozen=True)
class PlannedCall:
    label: str
    request: dict[str, Any]
    effort: str | None = None


def prefix_request(prefix: Prefix) -> dict[str, Any]:
    """The shared prefix alone (the pre-warm request): its count is the prefix's tokens."""
    return build_prewarm(prefix).body


def planned_calls(ws: Workspace, prefix: Prefix, config: Config) -> tuple[PlannedCall, ...]:
    """The first request of each specialist that would run, in dispatch order, then the summary's
    (built without findings, which exist only once the specialists have run)."""
    calls = [PlannedCall(s.name, build_request(prefix, specialist_delta(s.name, ws.plan, config), [],
                                               config.max_output_tokens, config.effort_for(s.name)).body,
                         effort_in_force(prefix, config.effort_for(s.name)))
             for s in ws.plan.specialists]
    if calls:
        idle = [s.name for s in selected(config.specialists) if s not in ws.plan.specialists]
        delta = render("summary.md.j2", findings="", count=0, failed=[], idle=idle)
        calls.append(PlannedCall(SUMMARY, build_request(prefix, delta, [], config.max_output_tokens,
                                                        config.effort_for(SUMMARY)).body,
                                 effort_in_force(prefix, config.effort_for(SUMMARY))))
    return tuple(calls)


@dataclass(frozen=True)
class CallTokens:
    label: str
    total: int
    prefix: int
    effort: str | None = None
    output: int = 0                 # estimated output tokens (thinking at its effort + a submission)
    thinking: int = 0

    @property
    def delta(self) -> int:
        return max(0, self.total - self.prefix)


@dataclass(frozen=True)
class DryRun:
    meta: ChangeMeta
    files_changed: int
    additions: int
    deletions: int
    model: str
    warmup: str
    mode: str
    base_ttl: str
    prefix_sha256: str
    prefix_tokens: int
    preloaded: tuple[str, ...]            # workspace files pre-read into the shared prefix
    on_disk: tuple[str, ...]              # reviewed patches left for read_file (beyond the budget)
    calls: tuple[CallTokens, ...]
    idle: tuple[str, ...]
    budget_dollars: float = 0.0
    min_cacheable: int = 1024             # the model's, or the platform's own published minimum
    tokenizer: float = 1.0
    estimated_on: str | None = None       # a platform without count_tokens: the counts are local estimates


def make_dry_run(meta: ChangeMeta, ws: Workspace, prefix: Prefix, config: Config, prefix_tokens: int,
                 call_tokens: list[tuple[str, int]], files_changed: int, additions: int, deletions: int,
                 efforts: list[str | None] | None = None, counted: str | None = None,
                 min_cacheable: int | None = None) -> DryRun:
    """`efforts`: each call's effort in force. `counted`: None when the counts come from
    count_tokens, else the platform that has none (its counts are estimates, and the report says so).
    `min_cacheable`: the platform's published minimum cacheable length for the model, if it has one
    (else the model table's)."""
    plan = ws.plan
    info = model_info(config.model)
    efforts = efforts if efforts is not None else [None] * len(call_tokens)

    def tokens(label: str, total: int, effort: str | None) -> CallTokens:
        thinking = info.thinking_tokens(effort)
        return CallTokens(label, total, prefix_tokens, effort, thinking + SUBMISSION_ESTIMATE, thinking)
    return DryRun(
        meta=meta, files_changed=files_changed, additions=additions, deletions=deletions, model=config.model,
        warmup=config.warmup, mode=config.mode, base_ttl=config.base_ttl,
        prefix_sha256=prefix.sha256(), prefix_tokens=prefix_tokens,
        preloaded=tuple(path for path, _ in prefix.reads),
        on_disk=tuple(pf.patch_file for pf in plan.files if pf.reviewers and not pf.preloaded),
        calls=tuple(tokens(label, total, e) for (label, total), e in zip(call_tokens, efforts, strict=False)),
        idle=tuple(s.name for s in selected(config.specialists) if s not in plan.specialists),
        budget_dollars=config.budget_dollars, min_cacheable=min_cacheable or info.min_cacheable,
        tokenizer=info.tokenizer, estimated_on=counted)


@dataclass(frozen=True)
class Estimate:
    calls: int
    with_cache: Usage
    without_cache: Usage
    cost_with_cache: float
    cost_without_cache: float

    @property
    def saving(self) -> float | None:
        return 1 - self.cost_with_cache / self.cost_without_cache if self.cost_without_cache else None


def estimate(d: DryRun) -> Estimate:
    n = len(d.calls)
    deltas = sum(c.delta for c in d.calls)
    out = sum(c.output for c in d.calls)
    prewarm = d.warmup == "prewarm" and n > 0
    p = d.prefix_tokens if n else 0
    reads = p * n if prewarm else p * max(0, n - 1)
    thinking = sum(c.thinking for c in d.calls)
    cached = Usage(input_tokens=deltas, cache_write_5m=p, cache_read=reads, output_tokens=out, thinking_tokens=thinking)
    naive = Usage(input_tokens=p * n + deltas, output_tokens=out, thinking_tokens=thinking)
    return Estimate(n + (1 if prewarm else 0), cached, naive, cost(cached, d.model), cost(naive, d.model))


def assumptions(d: DryRun) -> list[str]:
    a = ["one call per agent: the reviewed patches are pre-read into the shared prefix, so agents usually "
         "submit on their first turn; each extra read_file turn adds a call",
         f"output: per call, the model table's thinking estimate at the call's effort plus {SUBMISSION_ESTIMATE:,} "
         "tokens of submission (an estimate: adaptive thinking sets its own length; thinking is billed as output)",
         "the summary's delta is counted without the findings it will receive",
         "with caching: the shared prefix written once at the 5-minute write price and read by every other "
         "call; deltas uncached"]
    if d.warmup == "prewarm":
        a.append("warm-up prewarm: one extra max_tokens=0 call writes the prefix, every agent call reads it")
    elif d.warmup == "none":
        a.append("warm-up none: agents start together, so in practice several may write the prefix")
    if d.base_ttl == "1h":
        a.append("base TTL 1h: the tools and system part is written at the 1-hour price (a little more)")
    if d.mode == "naive":
        a.append("mode naive: this review sends no cache_control, so it is billed as 'without caching'")
    if d.estimated_on:
        a.append(f"token counts are estimates ({CHARS_PER_TOKEN} characters per token): {d.estimated_on} has no "
                 "count_tokens endpoint")
    if d.calls and d.prefix_tokens < d.min_cacheable:
        a.append(f"the shared prefix ({d.prefix_tokens:,} tokens) is below {d.model}'s minimum cacheable length "
                 f"({d.min_cacheable:,}): it would not be cached")
    if d.budget_dollars:
        e = estimate(d)
        a.append(f"budget: ${d.budget_dollars:.2f}; the estimate with caching (${e.cost_with_cache:.4f}) "
                 + ("fits" if e.cost_with_cache <= d.budget_dollars else
                    "is over it: the review would stop early as a partial review"))
    return a


def _usage_dict(u: Usage) -> dict[str, int]:
    return {"input_tokens": u.input_tokens, "cache_write_5m": u.cache_write_5m, "cache_read": u.cache_read,
            "output_tokens": u.output_tokens, "thinking_tokens": u.thinking_tokens}


def to_json(d: DryRun) -> dict[str, Any]:
    e = estimate(d)
    p = price_of(d.model)
    return {
        "dry_run": True,
        "change": {"base_ref": d.meta.base_ref, "head_ref": d.meta.head_ref, "base_sha": d.meta.base_sha,
                   "head_sha": d.meta.head_sha, "title": d.meta.title, "files_changed": d.files_changed,
                   "additions": d.additions, "deletions": d.deletions},
        "model": d.model, "warmup": d.warmup, "mode": d.mode, "base_ttl": d.base_ttl,
        "token_counts": "estimated" if d.estimated_on else "count_tokens",
        "prices_per_mtok": {"input": p.input, "write_5m": p.write_5m, "read": p.read, "output": p.output},
        "shared_prefix": {"sha256": d.prefix_sha256, "tokens": d.prefix_tokens, "preloaded": list(d.preloaded)},
        "not_preloaded": list(d.on_disk),
        "calls": [{"label": c.label, "total_tokens": c.total, "shared_prefix_tokens": c.prefix,
                   "delta_tokens": c.delta, "effort": c.effort, "output_tokens": c.output,
                   "thinking_tokens": c.thinking} for c in d.calls],
        "idle": list(d.idle),
        "budget_dollars": d.budget_dollars or None,
        "within_budget": None if not d.budget_dollars else e.cost_with_cache <= d.budget_dollars,
        "estimate": {"calls": e.calls,
                     "with_caching": dict(_usage_dict(e.with_cache), cost_usd=round(e.cost_with_cache, 6)),
                     "without_caching": dict(_usage_dict(e.without_cache), cost_usd=round(e.cost_without_cache, 6)),
                     "saving": None if e.saving is None else round(e.saving, 4)},
        "assumptions": assumptions(d),
    }


def to_markdown(d: DryRun) -> str:
    from reviewbot.output.safety import clean
    e = estimate(d)
    m = d.meta
    out = [f"# reviewbot dry run: {clean(m.title) or 'review'}", "",
           f"{clean(m.base_ref) or m.base_sha[:12]}..{clean(m.head_ref) or m.head_sha[:12]} · "
           f"{d.files_changed} file(s), +{d.additions} -{d.deletions} · model {d.model} · warm-up {d.warmup}", ""]
    if not d.calls:
        return "\n".join(out + ["No reviewer would run: no changed file is of a kind they review.", ""])
    out += ["## Requests", "",
            "First turn of each agent; " + (f"token counts estimated locally: {d.estimated_on} has no count_tokens "
                                            "endpoint." if d.estimated_on else
                                            "token counts from the count_tokens endpoint."), "",
            "| # | call | shared prefix | delta | total | effort | est. output (thinking) |",
            "|---:|---|---:|---:|---:|---|---:|"]
    for i, c in enumerate(d.calls, start=1):
        label = c.label + (" (without findings)" if c.label == SUMMARY else "")
        out.append(f"| {i} | {label} | {c.prefix:,} | {c.delta:,} | {c.total:,} | {c.effort or '-'} | "
                   f"{c.output:,} ({c.thinking:,}) |")
    out += ["", f"Shared prefix: {d.prefix_tokens:,} tokens, sha256 {d.prefix_sha256[:16]}…, byte-identical in "
                f"every call: tools, system prompt, opening and {len(d.preloaded)} pre-read file(s): "
                + ", ".join(f"`{p}`" for p in d.preloaded) + "."]
    if d.on_disk:
        out.append("Left on disk for read_file (beyond the pre-read budget): "
                   + ", ".join(f"`{p}`" for p in d.on_disk) + ".")
    if d.idle:
        out.append("Not running: " + ", ".join(d.idle) + ".")
    out += ["", f"## Estimated cost ({d.model})", "",
            "| | input | cache write | cache read | output | cost |", "|---|---:|---:|---:|---:|---:|"]
    for name, u, usd in (("with caching", e.with_cache, e.cost_with_cache),
                         ("without caching", e.without_cache, e.cost_without_cache)):
        out.append(f"| {name} | {u.input_tokens:,} | {u.cache_write_5m:,} | {u.cache_read:,} | "
                   f"{u.output_tokens:,} | ${usd:.4f} |")
    if e.saving is not None:
        out += ["", f"{e.calls} call(s); caching saves an estimated {e.saving:.0%}."]
    out += ["", "Assumptions:"] + [f"- {a}" for a in assumptions(d)]
    out += ["", "Nothing was sent to /v1/messages."]
    return "\n".join(out) + "\n"


async def count(change: Change, config: Config, workspace: Path, connection: Connection, connect: Connect,
                target: providers.Target, on_event: OnEvent, repo: Repository | None = None,
                cassette: Path | None = None) -> DryRun:
    """Writes the workspace for `change` into `workspace`, counts the tokens of the pre-warm request
    and of every planned first request, and returns the DryRun. The counts come from count_tokens
    (free, no model call) through `connect(connection)`; on a platform without that endpoint they are
    local estimates and nothing is opened. `cassette`: the replayed cassette, named when a request is
    not in it."""
    ws, prefix = prepare(change, config, workspace, repo=repo)
    calls = planned_calls(ws, prefix, config)
    requests = [prefix_request(prefix)] + [c.request for c in calls]
    if target.platform.count_tokens:
        on_event(TokensCounting(len(calls)))
        async with connect(connection) as inner:
            transport = Metered(inner, on_event, cassette)
            counts = list(await asyncio.gather(*(transport.count_tokens(r) for r in requests)))
    else:
        on_event(TokensCounting(len(calls), target.platform.title))
        counts = [providers.estimate_tokens(r, COUNTED_FIELDS) for r in requests]
    return make_dry_run(change.meta, ws, prefix, config, counts[0],
                        [(c.label, n) for c, n in zip(calls, counts[1:], strict=True)],
                        len(change.files), change.additions, change.deletions, [c.effort for c in calls],
                        counted=None if target.platform.count_tokens else target.platform.title,
                        min_cacheable=providers.min_cacheable_tokens(target))
