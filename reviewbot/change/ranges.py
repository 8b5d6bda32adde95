"""Ranges of a local repository named on the command line: `BASE..HEAD`, or one commit `REV`.

`reviewbot bulk` and `reviewbot bench --repo` take a list of them. `BASE..HEAD` is the change HEAD
brings into BASE, from their merge-base, as `reviewbot review --base BASE --head HEAD` reads it; a
single `REV` is the change of that commit (`REV^..REV`), e.g. for the nightly review of merged commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reviewbot.change.gitsource import read_local_change
from reviewbot.domain.change import Change
from reviewbot.errors import ConfigError, InputError


@dataclass(frozen=True)
class RangeChange:
    key: str                       # r001, r002, ... in the order given (duplicates once)
    spec: str                      # the range as given
    change: Change


def parse_range(spec: str) -> tuple[str, str]:
    """(base, head) of a RANGE: `BASE..HEAD`, or one commit `REV` as `REV^..REV`."""
    if "..." in spec:
        raise ConfigError(f"range {spec!r}: use BASE..HEAD (the change HEAD brings into BASE), not BASE...HEAD")
    base, sep, head = spec.partition("..")
    if sep:
        if not base or not head:
            raise ConfigError(f"range {spec!r}: give both ends, BASE..HEAD")
        return base, head
    if not spec.strip():
        raise ConfigError("an empty RANGE")
    return f"{spec}^", spec


def read_ranges(repo: Path, specs: list[str]) -> list[RangeChange]:
    """Every range's change, read before anything is sent (a bad one is an InputError naming it)."""
    parsed = [(spec, parse_range(spec)) for spec in dict.fromkeys(specs)]
    out = []
    for i, (spec, (base, head)) in enumerate(parsed, 1):
        try:
            change = read_local_change(repo, base, head)
        except InputError as e:
            raise InputError(f"{spec}: {e}") from None
        out.append(RangeChange(f"r{i:03d}", spec, change))
    return out
