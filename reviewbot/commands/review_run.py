"""The run of `reviewbot review` (its flags: reviewbot.commands.review): review a local branch and print
the result.

Reads config once, reads the change with GitPython, makes the Anthropic client and passes it in.
Results go to stdout (markdown, rich-rendered on a terminal; json; sarif); progress, the usage line
and errors go to stderr, so a machine format on stdout is never mixed with anything else.
`--dry-run` stops before the first /v1/messages call: it builds the workspace, counts every first
request's tokens with the count_tokens endpoint and prints the layout and the estimated cost.
`--batch` sends the calls through the Message Batches API (reviewbot.pipeline.batch): the same review
at half the price; with --keep-workspace DIR the batches are journalled in DIR/state, so --resume DIR
follows the batches a killed run sent (reviewbot.pipeline.journal) instead of paying for them again.
`--record-cassette` / `--replay-cassette` wrap the whole run in a vcrpy cassette
(reviewbot.llm.cassettes).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reviewbot.change.diffsource import read_diff_file
from reviewbot.change.gitsource import read_file_at, read_local_change
from reviewbot.config import config_from_files, load_config, with_overrides
from reviewbot.domain.findings import reaches
from reviewbot.domain.result import ReviewResult
from reviewbot.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigError,
    InputError,
    MissingCredentials,
    Outcome,
)
from reviewbot.llm import providers
from reviewbot.llm.batches import ConnectBatches, connect_anthropic_batches
from reviewbot.llm.cassettes import RECORD, REPLAY, use_cassette
from reviewbot.llm.transport import Connect, Connection, connect_anthropic
from reviewbot.output.formats import MACHINE_FORMATS
from reviewbot.output.render import empty_result, render, usage_line
from reviewbot.output.terminal import QUIET, ProgressPrinter, progress_level, write_review
from reviewbot.pipeline import dryrun
from reviewbot.pipeline.batch import BatchQueue, Job, check_batch_target, run_batch_reviews
from reviewbot.pipeline.journal import BatchJournal
from reviewbot.pipeline.keep import write_kept
from reviewbot.pipeline.metered import Metered
from reviewbot.pipeline.resume import STATE, redact_saved
from reviewbot.pipeline.review import run_review
from reviewbot.repo.local import local_repository
from reviewbot.secrets import known_secrets, redact_json, redact_output

if TYPE_CHECKING:
    import argparse

    from reviewbot.config import Config
    from reviewbot.domain.change import Change
    from reviewbot.repo.tree import Repository


def check_paths(args: argparse.Namespace) -> None:
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


def _connection(config: Config, api_key: str | None, replaying: bool, target: providers.Target) -> Connection:
    # Replaying, a miss is final: no SDK retries (they would only wait). Recordings keep no retried
    # error answers (reviewbot.llm.cassettes), so nothing in a cassette needs a retry.
    return Connection.of(config, api_key, target, retries=0 if replaying else None)


async def _review(change: Change, config: Config, api_key: str | None, workspace: Path, progress: ProgressPrinter,
                  cassette: Path | None, target: providers.Target, connect: Connect, keep_state: bool = False,
                  resume: bool = False, repo: Repository | None = None,
                  batches: ConnectBatches | None = None) -> ReviewResult:
    """The review; with `batches`, in batch mode (reviewbot.pipeline.batch): its calls go through the
    Message Batches API, the interactive transport keeps the calls a batch cannot take."""
    connection = _connection(config, api_key, cassette is not None, target)
    if batches is not None:
        # A kept workspace keeps the batch journal too (opened at the first batch, once the workspace
        # is written): --resume follows the batches this run sent.
        journal = BatchJournal(workspace / STATE) if keep_state else None
        async with connect(connection) as transport, batches(connection, 1.0) as client:
            with contextlib.closing(journal) if journal is not None else contextlib.nullcontext():
                if journal is not None and resume:
                    journal.open()        # another run resuming DIR: exit 3 here, before any call
                job = Job("review", change, workspace, repo, progress.known, keep_state, resume)
                queue = BatchQueue(client, progress, journal=journal)
                return (await run_batch_reviews([job], config, queue, lambda _: transport,
                                                lambda _, event: progress(event),
                                                lambda t: Metered(t, progress, cassette)))[0]
    async with connect(connection) as transport:
        return await run_review(change, config, Metered(transport, progress, cassette), workspace,
                                progress, keep_state=keep_state, resume=resume, known=progress.known,
                                repo=repo)


@contextlib.contextmanager
def _workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        yield Path(tmp) / "ws"


def review(args: argparse.Namespace, connect: Connect = connect_anthropic,
           connect_batches: ConnectBatches = connect_anthropic_batches) -> Outcome:
    """`connect` opens the model transport, `connect_batches` the Message Batches client of --batch (a
    test passes its own)."""
    progress = ProgressPrinter(sys.stderr, progress_level(args.quiet, args.verbose))
    level = progress.level
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
    if args.batch and not args.dry_run:
        check_batch_target(target)
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
        return Outcome(EXIT_OK)
    cassette_file, mode = ((args.record_cassette, RECORD) if args.record_cassette else
                           (args.replay_cassette, REPLAY) if args.replay_cassette else (None, None))
    api_key: str | None = None
    if target.platform.name == "anthropic":
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key and mode == REPLAY:
            api_key = "replay"                   # nothing leaves the machine; the cassette answers
        if not api_key:
            raise MissingCredentials("ANTHROPIC_API_KEY is not set")
    elif mode != REPLAY and not (args.dry_run and not target.platform.count_tokens):
        providers.check_credentials(target, os.environ)
    recording = (use_cassette(cassette_file, mode, known) if cassette_file is not None and mode is not None
                 else contextlib.nullcontext())
    replayed = cassette_file if mode == REPLAY else None
    kept = args.keep_workspace or args.resume
    # The repository around the change, from git objects (never the working tree); none for --diff.
    source = None if args.diff or not config.repository else local_repository(
        repo, change.meta.head_sha, change.meta.base_sha)
    with _workspace(kept) as workspace, recording:
        if args.dry_run:
            connection = _connection(config, api_key, replayed is not None, target)
            plan = asyncio.run(dryrun.count(change, config, workspace, connection, connect, target, progress,
                                            source, replayed))
            text = (json.dumps(redact_json(dryrun.to_json(plan), known), indent=2, ensure_ascii=False) + "\n"
                    if args.format == "json" else redact_output(dryrun.to_markdown(plan), known))
            write_review(text, args.format, sys.stdout)
            return Outcome(EXIT_OK)
        try:
            result = asyncio.run(_review(change, config, api_key, workspace, progress, replayed, target, connect,
                                         keep_state=kept is not None, resume=args.resume is not None,
                                         repo=source, batches=connect_batches if args.batch else None))
        finally:
            if kept:
                redact_saved(workspace, known)
        if kept:
            write_kept(workspace, result)
    write_review(render(result, args.format), args.format, sys.stdout)
    if level > QUIET:
        print(f"reviewbot: {usage_line(result)}", file=sys.stderr)
    if reaches((f.severity for f in result.findings), args.fail_on):
        return Outcome(EXIT_FINDINGS)
    return Outcome(EXIT_OK if result.complete else EXIT_PARTIAL)
