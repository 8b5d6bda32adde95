"""`reviewbot review`: review a local branch and print the result.

Reads config once, reads the change with GitPython, makes the Anthropic client and passes it in.
Results go to stdout; progress and the usage line go to stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from ..change.gitsource import read_local_change
from ..config import WARMUP_STRATEGIES, load_config, with_overrides
from ..errors import EXIT_FINDINGS, EXIT_OK, EXIT_PARTIAL, ConfigError
from ..llm import Transport, make_client
from ..publish.render import FORMATS, finding_json, render, usage_line
from ..review import ReviewResult, run_review
from ..specialists.findings import SEVERITY_RANK
from ..specialists.tools import SEVERITIES
from ..usage import usage_json


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("review", help="review a local branch (HEAD against the merge-base with the default branch)",
                       description="Review the change between --base and --head of a local git repository.")
    r.add_argument("--repo", type=Path, default=Path("."), help="the git repository (default: current directory)")
    r.add_argument("--base", help="base ref (default: the default branch; the merge-base with head is used)")
    r.add_argument("--head", help="head ref (default: HEAD)")
    r.add_argument("--format", choices=sorted(FORMATS), default="markdown", help="output format (default: markdown)")
    r.add_argument("--keep-workspace", type=Path, metavar="DIR",
                   help="write the workspace, usage.json and each reviewer's raw findings to DIR (must be empty)")
    r.add_argument("--model", help="model id (default: from config, else claude-sonnet-4-6)")
    r.add_argument("--config", type=Path, help="config file (default: .reviewbot.toml or [tool.reviewbot] in pyproject.toml)")
    r.add_argument("--warmup", choices=WARMUP_STRATEGIES, help="how the shared prefix is cached before the fan-out")
    r.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit {EXIT_FINDINGS} when a finding of this severity or worse is reported "
                        f"({', '.join(SEVERITIES)})")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    r.add_argument("-v", "--verbose", action="store_true", help="more progress on stderr")
    r.set_defaults(run=run)


def _keep(dir_: Path, result: ReviewResult) -> None:
    (dir_ / "usage.json").write_text(json.dumps(usage_json(result.calls), indent=2) + "\n")
    raw = dir_ / "findings"
    raw.mkdir(exist_ok=True)
    for name, sub in sorted(result.raw.items()):
        items = [] if sub is None else [finding_json(f) for f in sub.findings]
        (raw / f"{name}.json").write_text(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
    (dir_ / "review.json").write_text(render(result, "json"))


async def _review(change, config, api_key: str, workspace: Path, on_event) -> ReviewResult:
    client = make_client(api_key, os.environ.get("ANTHROPIC_BASE_URL") or None, config.max_retries,
                         config.timeout_seconds)
    async with client:
        return await run_review(change, config, Transport(client), workspace, on_event)


def run(args) -> int:
    quiet, verbose = args.quiet, args.verbose

    def on_event(msg: str) -> None:
        if verbose or (not quiet and ": read " not in msg and "sha256" not in msg):
            print(f"reviewbot: {msg}", file=sys.stderr)

    repo = args.repo.resolve()
    config = with_overrides(load_config(repo, args.config), model=args.model, warmup=args.warmup)
    change = read_local_change(repo, args.base, args.head)
    if not change.files:
        print(f"reviewbot: nothing to review: no changes between {change.meta.base_ref or 'base'} and "
              f"{change.meta.head_ref or 'head'}", file=sys.stderr)
        return EXIT_OK
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        raise ConfigError("ANTHROPIC_API_KEY is not set")
    if args.keep_workspace:
        workspace = args.keep_workspace
        result = asyncio.run(_review(change, config, api_key, workspace, on_event))
        _keep(workspace, result)
    else:
        with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
            result = asyncio.run(_review(change, config, api_key, Path(tmp) / "ws", on_event))
    sys.stdout.write(render(result, args.format))
    if not quiet:
        print(f"reviewbot: {usage_line(result)}", file=sys.stderr)
    if args.fail_on and any(SEVERITY_RANK[f.severity] <= SEVERITY_RANK[args.fail_on] for f in result.findings):
        return EXIT_FINDINGS
    return EXIT_OK if result.complete else EXIT_PARTIAL


