"""Which specialists review a change: routing by file kind, then a tier by size and sensitivity.

A specialist is applicable when a file of a kind it covers changed. The tier then caps how many of
the applicable ones run, so trivial changes do not pay for seven reviewers:

    sensitive paths, CI or dependency files, or > 50 files   -> every applicable specialist
    <= 10 changed lines                                       -> 2
    <= 100 changed lines and <= 20 files                      -> 4
    anything larger                                           -> every applicable specialist

Security is never skipped when code, config, CI or dependencies changed. The order in which the
rest are picked depends on what changed (docs, dependencies, repository rules). Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reviewbot.domain.specialists import CI, CODE, CONFIG, DEPS, DOCS, LOCKFILE, TEST, Specialist

SENSITIVE = re.compile(r"(auth|login|passw|secret|token|credential|crypt|session|permission|acl|oauth|jwt|saml|"
                       r"csrf|xss|saniti[sz]|security|privilege|sudo|\.env\b|certificate|\.pem$|\.key$)", re.I)
BASE_ORDER = ("security", "correctness", "maintainability", "documentation", "release", "performance", "rules")


@dataclass(frozen=True)
class Tier:
    name: str                  # "small", "medium", "full"
    limit: int | None          # how many specialists at most; None: all applicable
    reason: str


def choose_tier(paths: list[str], kinds: set[str], changed_lines: int) -> Tier:
    sensitive = [p for p in paths if SENSITIVE.search(p)]
    if sensitive:
        return Tier("full", None, f"security-sensitive path {sensitive[0]}")
    if kinds & {CI, DEPS, LOCKFILE}:
        return Tier("full", None, "CI or dependency files changed")
    if len(paths) > 50:
        return Tier("full", None, f"{len(paths)} files changed")
    if changed_lines <= 10:
        return Tier("small", 2, f"{changed_lines} changed lines")
    if changed_lines <= 100 and len(paths) <= 20:
        return Tier("medium", 4, f"{changed_lines} changed lines in {len(paths)} files")
    return Tier("full", None, f"{changed_lines} changed lines in {len(paths)} files")


def _priority(name: str, kinds: set[str], has_rules: bool) -> float:
    p = float(BASE_ORDER.index(name)) if name in BASE_ORDER else 99.0
    if name == "security" and kinds & {CODE, CONFIG, CI, DEPS}:
        return -1.0
    if name == "documentation" and kinds <= {DOCS}:
        return -0.5
    if name == "release" and kinds & {DEPS, CI, CONFIG, LOCKFILE}:
        return 1.5
    if name == "rules" and has_rules:
        return 2.5
    if name == "maintainability" and kinds <= {TEST}:
        return 0.5
    return p


def select(applicable: tuple[Specialist, ...], tier: Tier, kinds: set[str], has_rules: bool) -> tuple[Specialist, ...]:
    """The applicable specialists the tier lets run, in registry order."""
    if tier.limit is None or len(applicable) <= tier.limit:
        return applicable
    ranked = sorted(applicable, key=lambda s: (_priority(s.name, kinds, has_rules), s.name))
    chosen = {s.name for s in ranked[:tier.limit]}
    return tuple(s for s in applicable if s.name in chosen)
