"""`reviewbot review`: review a local branch and print the result.

Reads config once, reads the change with GitPython, makes the Anthropic client and passes it in.
Results go to stdout (markdown, rich-rendered on a terminal; json; sarif); progress, the usage line
and errors go to stderr, so a machine format on stdout is never mixed with anything else.
`--dry-run` stops before the first /v1/messages call: it builds the workspace, counts every first
request's tokens with the count_tokens endpoint and prints the layout and the estimated cost.
`--record-cassette` / `--replay-cassette` wrap the whole run in a vcrpy cassette (reviewbot.llm.cassettes).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from reviewbot.change.diffsource import read_diff_file
from reviewbot.change.gitsource import read_file_at, read_local_change
from reviewbot.config import WARMUP_STRATEGIES, config_from_files, load_config, with_overrides
from reviewbot.domain.findings import SEVERITIES, reaches
from reviewbot.errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, APIError, ConfigError, InputError, StreamBroken
from reviewbot.llm import providers
from reviewbot.llm.cassettes import RECORD, REPLAY, is_cassette_miss, use_cassette
from reviewbot.llm.transport import COUNTED_FIELDS, Transport, client_from_env
from reviewbot.llm.usage import REFUSALS_BILLED, usage_json
from reviewbot.output.render import FORMATS, MACHINE_FORMATS, empty_result, render, usage_line
from reviewbot.output.terminal import NORMAL, QUIET, VERBOSE, ProgressPrinter, write_review
from reviewbot.pipeline import dryrun
from reviewbot.pipeline.resume import redact_saved
from reviewbot.pipeline.review import ReviewResult, prepare, run_review
from reviewbot.repo.local import local_repository
from reviewbot.secrets import known_secrets, redact_json, redact_output

FORMAT_HELP = ("output on stdout: markdown (rendered with rich on a terminal, plain when piped), "
               "json (schema: reviewbot/output/review.schema.json), sarif (SARIF 2.1.0, for GitHub code "
               "scanning); default: markdown")


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "review", help="review a local branch (HEAD against the merge-base with the default branch)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review the change between --base and --head of a local git repository.\n"
                    "The review goes to stdout; progress, the usage line and errors go to stderr.",
        epilog=f"""exit codes:
  0  review done, or nothing to review
  {EXIT_FINDINGS}  --fail-on threshold reached (wins over 5)
  2  usage or configuration error (bad flag or config key, ANTHROPIC_API_KEY missing)
  3  the change cannot be read (not a git repository, unknown ref, workspace not empty)
  4  the API failed after retries or refused the key; replaying, a request not in the cassette
  {EXIT_PARTIAL}  partial review: a reviewer or the summary failed, or the deadline or budget stopped it
     (the rest is printed, labelled partial)

environment:
  ANTHROPIC_API_KEY   required with --provider anthropic (the default), except with --replay-cassette
  ANTHROPIC_BASE_URL  another endpoint (a proxy, or cachesim in development)
  cloud providers     their own credential chain (AWS, Google ADC, Azure): README, "Providers"

examples:
  reviewbot review --base main --dry-run            what it would send and cost
  reviewbot review --format sarif > review.sarif    for GitHub code scanning
  reviewbot review --record-cassette t/rb.yaml      then, offline: --replay-cassette t/rb.yaml""")
    r.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                   help="the git repository (default: current directory)")
    r.add_argument("--base", metavar="REF",
                   help="base ref (default: the default branch; the merge-base with head is used)")
    r.add_argument("--head", metavar="REF", help="head ref (default: HEAD)")
    r.add_argument("--format", choices=sorted(FORMATS), default="markdown", help=FORMAT_HELP)
    r.add_argument("--diff", metavar="FILE",
                   help="review the unified diff in FILE ('-' for standard input) instead of a git range: "
                        "git, hg, svn, bzr or format-patch output; config from --config or the working tree")
    kept = r.add_mutually_exclusive_group()
    kept.add_argument("--keep-workspace", type=Path, metavar="DIR",
                      help="write the workspace, usage.json, review.json and each reviewer's raw findings to DIR "
                           "(must be empty); each reviewer's result is saved in DIR/state as soon as it finishes")
    kept.add_argument("--resume", type=Path, metavar="DIR",
                      help="continue a run kept with --keep-workspace DIR that broke off: same change and config; "
                           "reviewers that finished are reused, not paid again")
    r.add_argument("--model", metavar="ID",
                   help="model id from reviewbot's model table (default: from config, else claude-sonnet-5-5)")
    r.add_argument("--config", type=Path, metavar="FILE",
                   help="config file (default: .reviewbot.toml, else [tool.reviewbot] in pyproject.toml, as they are "
                        "in the BASE commit: the change under review cannot rewrite its own config)")
    r.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="how the shared prefix is cached before the fan-out")
    r.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding of this severity or worse is reported "
                        f"({', '.join(SEVERITIES)})")
    r.add_argument("--dry-run", action="store_true",
                   help="build the workspace and print what would be sent (shared prefix vs each agent's delta, "
                        "counted by the count_tokens endpoint) and the estimated cost with and without caching; "
                        "sends nothing to /v1/messages (markdown or json)")
    cassette = r.add_mutually_exclusive_group()
    cassette.add_argument("--record-cassette", type=Path, metavar="FILE",
                          help="record every API call of this run to FILE (YAML, overwritten; keys filtered out; "
                               "needs reviewbot[cassettes])")
    cassette.add_argument("--replay-cassette", type=Path, metavar="FILE",
                          help="answer every API call from FILE, offline; a request that differs from the recording "
                               "(prompt, config, model, change) fails with exit 4; no API key needed")
    providers.add_arguments(r)
    noise = r.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="nothing on stderr but errors")
    noise.add_argument("-v", "--verbose", action="store_true",
                       help="also the shared prefix's hash and one line per API call (tokens, cost)")
    r.set_defaults(run=run)


class _Metered:
    """The Transport the orchestrator gets: each finished call is reported to the progress printer,
    and a request missing from a replayed cassette becomes an error that says so."""

    def __init__(self, inner: Transport, progress: ProgressPrinter, cassette: Path | None = None):
        self.inner, self.progress, self.cassette = inner, progress, cassette

    def _miss(self, e: APIError) -> APIError:
        if self.cassette is not None and is_cassette_miss(e):
            return APIError(f"a request is not in the cassette {self.cassette}: the prompts, config, model or "
                            "change differ from the recording (re-record it with --record-cassette)")
        return e

    async def send(self, request: dict, on_start=None):
        try:
            reply = await self.inner.send(request, on_start)
        except StreamBroken as e:
            if e.partial is not None:
                self.progress.call(e.partial.model, e.partial.usage)
            raise
        except APIError as e:
            raise self._miss(e) from None
        billed = reply.refusal is None or reply.refusal in REFUSALS_BILLED
        self.progress.call(reply.model, reply.usage, reply.cache_miss, billed, reply.stop_reason)
        return reply

    async def count_tokens(self, request: dict) -> int:
        try:
            return await self.inner.count_tokens(request)
        except APIError as e:
            raise self._miss(e) from None


def _keep(dir_: Path, result: ReviewResult) -> None:
    """usage.json, review.json and findings/<specialist>.json beside the workspace, redacted."""
    try:
        (dir_ / "usage.json").write_text(json.dumps(usage_json(result.calls), indent=2) + "\n")
        raw = dir_ / "findings"
        raw.mkdir(exist_ok=True)
        for name, sub in sorted(result.raw.items()):
            items = [] if sub is None else [f.to_json() for f in sub.findings]
            (raw / f"{name}.json").write_text(json.dumps(redact_json(items, result.secrets), indent=2,
                                                         ensure_ascii=False) + "\n")
        (dir_ / "review.json").write_text(render(result, "json"))
    except OSError as e:
        raise InputError(f"cannot write to the kept workspace {dir_}: {e.strerror}") from None


def check_paths(args) -> None:
    """Every path argument of the wrong kind is a one-line error (exit 3 for the change and the
    workspace, 2 for config and cassettes), before anything is read or written."""
    def kind(p: Path) -> str:
        return "a directory" if p.is_dir() else "a file" if p.exists() else "missing"

    if not args.diff and kind(args.repo) != "a directory":
        raise InputError(f"--repo {args.repo}: not a directory" if args.repo.exists() else
                         f"--repo {args.repo}: no such directory")
    if args.diff and args.diff != "-" and Path(args.diff).is_dir():
        raise InputError(f"--diff {args.diff}: is a directory, not a patch file")
    if args.config is not None and args.config.is_dir():
        raise ConfigError(f"--config {args.config}: is a directory, not a config file")
    for flag, value in (("--keep-workspace", args.keep_workspace), ("--resume", args.resume)):
        if value is None:
            continue
        if value.exists() and not value.is_dir():
            raise InputError(f"{flag} {value}: is a file, not a directory")
        blocker = next((p for p in value.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise InputError(f"{flag} {value}: {blocker} is a file, not a directory")
        if flag == "--resume" and not value.exists():
            raise InputError(f"cannot resume: no kept workspace in {value} (run with --keep-workspace first)")
    if args.replay_cassette is not None and args.replay_cassette.is_dir():
        raise ConfigError(f"--replay-cassette {args.replay_cassette}: is a directory, not a cassette file")
    if args.record_cassette is not None and args.record_cassette.is_dir():
        raise ConfigError(f"--record-cassette {args.record_cassette}: is a directory, not a cassette file")


def _client(config, api_key: str | None, replaying: bool, target: providers.Target):
    # Replaying, a miss is final: no SDK retries (they would only wait). Recordings keep no retried
    # error answers (reviewbot.llm.cassettes), so nothing in a cassette needs a retry.
    return client_from_env(api_key, 0 if replaying else config.max_retries, config.timeout_seconds,
                           stall_seconds=config.stall_seconds, target=target)


async def _review(change, config, api_key, workspace: Path, progress: ProgressPrinter, cassette,
                  target: providers.Target, keep_state: bool = False, resume: bool = False,
                  repo=None) -> ReviewResult:
    async with _client(config, api_key, cassette is not None, target) as client:
        transport = Transport(client, stall_seconds=config.stall_seconds, target=target)
        return await run_review(change, config, _Metered(transport, progress, cassette), workspace,
                                progress.event, keep_state=keep_state, resume=resume, known=progress.known,
                                repo=repo)


async def _dry_run(change, config, api_key, workspace: Path, progress: ProgressPrinter, cassette,
                   target: providers.Target, repo=None) -> dryrun.DryRun:
    ws, prefix = prepare(change, config, workspace, repo=repo)
    calls = dryrun.planned_calls(ws, prefix, config)
    requests = [dryrun.prefix_request(prefix)] + [c.request for c in calls]
    if target.platform.count_tokens:
        progress.event(f"dry run: counting the tokens of the shared prefix and {len(calls)} request(s)")
        async with _client(config, api_key, cassette is not None, target) as client:
            transport = _Metered(Transport(client, stall_seconds=config.stall_seconds, target=target), progress,
                                 cassette)
            counts = await asyncio.gather(*(transport.count_tokens(r) for r in requests))
    else:
        progress.event(f"dry run: {target.platform.title} has no count_tokens endpoint: estimating the tokens "
                       f"of the shared prefix and {len(calls)} request(s) locally")
        counts = [providers.estimate_tokens(r, COUNTED_FIELDS) for r in requests]
    return dryrun.make_dry_run(change.meta, ws, prefix, config, counts[0],
                               [(c.label, n) for c, n in zip(calls, counts[1:])],
                               len(change.files), change.additions, change.deletions, [c.effort for c in calls],
                               counted=None if target.platform.count_tokens else target.platform.title,
                               min_cacheable=providers.min_cacheable_tokens(target))


@contextlib.contextmanager
def _workspace(keep: Path | None):
    if keep is not None:
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        yield Path(tmp) / "ws"


def run(args) -> int:
    level = QUIET if args.quiet else VERBOSE if args.verbose else NORMAL
    progress = ProgressPrinter(sys.stderr, level)
    if args.dry_run and args.format == "sarif":
        raise ConfigError("--dry-run prints markdown or json, not sarif")
    check_paths(args)
    repo = args.repo.resolve()
    if args.diff and (args.base or args.head):
        raise ConfigError("--diff reviews a patch file: it does not take --base or --head")
    if args.diff:
        change = read_diff_file(args.diff)
        config = load_config(repo, args.config)
    else:
        change = read_local_change(repo, args.base, args.head)
        config = load_config(repo, args.config) if args.config else config_from_files(
            lambda name: read_file_at(repo, change.meta.base_sha, name))
    config = with_overrides(config, model=args.model, warmup=args.warmup, **providers.overrides(args))
    target = providers.resolve(config, os.environ)     # a model the platform lacks: one line, before any call
    config = providers.apply(config, target)
    known = known_secrets(change)            # redacted from every line written: stderr, files, cassettes
    progress.known = known
    if not change.files:
        note = (f"nothing to review: no changes between {change.meta.base_ref or 'base'} and "
                f"{change.meta.head_ref or 'head'}")
        if level > QUIET:
            print(f"reviewbot: {note}", file=sys.stderr)
        if args.format in MACHINE_FORMATS and not args.dry_run:
            empty = replace(empty_result(change.meta, note), secrets=known)
            write_review(render(empty, args.format), args.format, sys.stdout)
        return EXIT_OK
    cassette_file, mode = ((args.record_cassette, RECORD) if args.record_cassette else
                           (args.replay_cassette, REPLAY) if args.replay_cassette else (None, None))
    api_key: str | None = None
    if target.platform.name == "anthropic":
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key and mode == REPLAY:
            api_key = "replay"                   # nothing leaves the machine; the cassette answers
        if not api_key:
            raise ConfigError("ANTHROPIC_API_KEY is not set")
    elif mode != REPLAY and not (args.dry_run and not target.platform.count_tokens):
        providers.check_credentials(target, os.environ)
    recording = use_cassette(cassette_file, mode, known) if cassette_file else contextlib.nullcontext()
    replayed = cassette_file if mode == REPLAY else None
    kept = args.keep_workspace or args.resume
    # The repository around the change, from git objects (never the working tree); none for --diff.
    source = None if args.diff or not config.repository else local_repository(
        repo, change.meta.head_sha, change.meta.base_sha)
    with _workspace(kept) as workspace, recording:
        if args.dry_run:
            plan = asyncio.run(_dry_run(change, config, api_key, workspace, progress, replayed, target, source))
            text = (json.dumps(redact_json(dryrun.to_json(plan), known), indent=2, ensure_ascii=False) + "\n"
                    if args.format == "json" else redact_output(dryrun.to_markdown(plan), known))
            write_review(text, args.format, sys.stdout)
            return EXIT_OK
        try:
            result = asyncio.run(_review(change, config, api_key, workspace, progress, replayed, target,
                                         keep_state=kept is not None, resume=args.resume is not None,
                                         repo=source))
        finally:
            if kept:
                redact_saved(workspace, known)
        if kept:
            _keep(workspace, result)
    write_review(render(result, args.format), args.format, sys.stdout)
    if level > QUIET:
        print(f"reviewbot: {usage_line(result)}", file=sys.stderr)
    if reaches((f.severity for f in result.findings), args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK if result.complete else EXIT_PARTIAL
