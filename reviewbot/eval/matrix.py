"""The matrix mode: --specialists / --effort / --model values expanded into cells, each a full
evaluation of the golden set with one setting, so a maintainer sees what each specialist and each
setting adds before changing a default. Pure.

`--specialists` takes a comma-separated list, `all` (the whole registry) or `each` (one cell per
specialist alone); `--effort` the API's effort levels; `--model` model ids. Given several times,
each flag is an axis; the cells are their product. Nothing given: one cell, the configuration as is.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

from reviewbot.config import Config
from reviewbot.domain.enums import EFFORTS, Effort
from reviewbot.domain.specialists import NAMES
from reviewbot.errors import ConfigError


@dataclass(frozen=True)
class Cell:
    model: str | None = None                      # None: the config's
    specialists: tuple[str, ...] | None = None    # None: the config's; () is never produced
    effort: Effort | None = None                  # None: the model's default

    @property
    def label(self) -> str:
        parts: list[str] = []
        if self.model:
            parts.append(self.model)
        if self.specialists is not None:
            parts.append("all" if self.specialists == NAMES else "+".join(self.specialists))
        if self.effort:
            parts.append(f"effort {self.effort}")
        return " · ".join(parts) or "default"

    def settings(self) -> dict[str, Any]:
        return {"model": self.model, "specialists": list(self.specialists) if self.specialists is not None else None,
                "effort": self.effort}

    def config(self, base: Config) -> Config:
        """The review's configuration in this cell (its effort is the review-wide top-level effort, the
        same on every call, so the shared prefix stays one cache entry)."""
        out = base
        if self.model:
            out = replace(out, model=self.model)
        if self.specialists is not None:
            out = replace(out, specialists=self.specialists)
        if self.effort:
            out = replace(out, effort=self.effort)
        return out


def parse_specialists(value: str) -> tuple[tuple[str, ...], ...]:
    """One --specialists value as the specialist sets it stands for."""
    v = value.strip()
    if v == "all":
        return (NAMES,)
    if v == "each":
        return tuple((n,) for n in NAMES)
    names = tuple(dict.fromkeys(x.strip() for x in v.split(",") if x.strip()))
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise ConfigError(f"--specialists: unknown specialist {unknown[0] if unknown else value!r} "
                          f"(known: {', '.join(NAMES)}; or all, each)")
    return (tuple(n for n in NAMES if n in names),)           # registry order, as the review runs them


def expand(models: list[str] | None, specialists: list[str] | None, efforts: list[str] | None) -> tuple[Cell, ...]:
    """Every combination of the given values, in the order given (duplicates once)."""
    for e in efforts or ():
        if e not in EFFORTS:
            raise ConfigError(f"--effort: {e!r} is not an effort level ({', '.join(EFFORTS)})")
    spec_sets: list[tuple[str, ...] | None] = list(dict.fromkeys(
        s for v in specialists for s in parse_specialists(v))) if specialists else [None]
    model_list: list[str | None] = list(dict.fromkeys(m.strip() for m in models if m.strip())) if models else [None]
    effort_list: list[Effort | None] = list(dict.fromkeys(Effort(e) for e in efforts)) if efforts else [None]
    return tuple(Cell(m, s, e) for m, s, e in itertools.product(model_list, spec_sets, effort_list))
