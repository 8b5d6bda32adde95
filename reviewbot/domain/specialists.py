"""The seven specialist reviewers, as data.

A specialist is a name, a prompt file under prompts/specialists/, a one-line focus and the kinds of
file it looks at. Nothing else differs between them: the request layout, the tools and the agent
loop are shared, so adding a reviewer is adding a row here and a prompt file.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FileKind(StrEnum):
    """What kind of file a path is (reviewbot.domain.kinds.file_kind decides)."""

    CODE = "code"
    TEST = "test"
    DOCS = "docs"
    CONFIG = "config"
    CI = "ci"
    DEPS = "deps"
    LOCKFILE = "lockfile"
    GENERATED = "generated"
    BINARY = "binary"


CODE, TEST, DOCS, CONFIG, CI, DEPS, LOCKFILE, GENERATED, BINARY = tuple(FileKind)


@dataclass(frozen=True)
class Specialist:
    name: str
    title: str
    prompt: str                 # template path relative to prompts/
    focus: str
    file_kinds: frozenset[FileKind]


SPECIALISTS: tuple[Specialist, ...] = (
    Specialist("security", "Security", "specialists/security.md.j2",
               "exploitable or concretely dangerous issues only: injection, authn/authz bypass, secrets, "
               "weak crypto, missing validation at trust boundaries",
               frozenset({CODE, CONFIG, CI, DEPS, LOCKFILE})),
    Specialist("correctness", "Correctness", "specialists/correctness.md.j2",
               "logic bugs, edge cases, error handling",
               frozenset({CODE, TEST})),
    Specialist("performance", "Performance", "specialists/performance.md.j2",
               "algorithmic cost, needless I/O, allocations and blocking on hot paths",
               frozenset({CODE})),
    Specialist("maintainability", "Maintainability", "specialists/maintainability.md.j2",
               "code quality, structure and tests",
               frozenset({CODE, TEST})),
    Specialist("documentation", "Documentation", "specialists/documentation.md.j2",
               "docs, docstrings, comments and changelogs that are wrong, missing or stale",
               frozenset({CODE, DOCS})),
    Specialist("release", "Release & compatibility", "specialists/release.md.j2",
               "public API, dependencies, configuration, CI and migrations",
               frozenset({CODE, CONFIG, CI, DEPS, LOCKFILE})),
    Specialist("rules", "Project rules", "specialists/rules.md.j2",
               "compliance with the repository's own REVIEW.md / AGENTS.md / CONTRIBUTING.md, and whether "
               "agent-instruction files stay accurate",
               frozenset({CODE, TEST, DOCS, CONFIG, CI, DEPS})),
)

NAMES: tuple[str, ...] = tuple(s.name for s in SPECIALISTS)
SUMMARY = "summary"


def by_name(name: str) -> Specialist:
    for s in SPECIALISTS:
        if s.name == name:
            return s
    raise KeyError(name)


def selected(names: tuple[str, ...]) -> tuple[Specialist, ...]:
    """The registry filtered to `names` (all when empty), always in registry order."""
    return tuple(s for s in SPECIALISTS if not names or s.name in names)
