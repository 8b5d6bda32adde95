"""The flags the commands share, defined once: the same names, the same meaning, the same help.
review and github take all of them (`--dry-run`, `--keep-workspace DIR`, `-q/--quiet`,
`-v/--verbose`); bulk and eval take -q/-v.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DRY_RUN_HELP = ("send no model call: build the workspace and print what would be sent (shared prefix vs each "
                "agent's delta, counted by the count_tokens endpoint) and the estimated cost with and without "
                "caching (markdown or json)")
KEEP_WORKSPACE_HELP = ("write the workspace, usage.json, review.json and each reviewer's raw findings to DIR "
                       "(must be empty); each reviewer's result is saved in DIR/state as soon as it finishes")
QUIET_HELP = "nothing on stderr but errors"
VERBOSE_HELP = "also the shared prefix's hash and one line per API call (tokens, cost)"


def add_common(parser: argparse.ArgumentParser,
               dry_run_in: argparse._MutuallyExclusiveGroup | None = None) -> argparse._MutuallyExclusiveGroup:
    """Adds --dry-run, --keep-workspace DIR and -q/-v (exclusive). `dry_run_in`: a group of flags that
    exclude --dry-run (github's --no-post). Returns the group --keep-workspace is in, for a flag that
    excludes it (review's --resume)."""
    (parser if dry_run_in is None else dry_run_in).add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep-workspace", type=Path, metavar="DIR", help=KEEP_WORKSPACE_HELP)
    add_noise(parser)
    return kept


def add_noise(parser: argparse.ArgumentParser, verbose_help: str = VERBOSE_HELP) -> None:
    """Adds -q/--quiet and -v/--verbose, which exclude each other (review, github, bulk, eval)."""
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    noise.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
