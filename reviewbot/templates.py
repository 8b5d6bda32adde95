"""Rendering of the jinja2 prompt files under prompts/.

All text the model reads (system prompt, shared context, specialist roles, summary delta) comes from
there, so prompt changes are file edits, reviewable as such. Rendering is pure: same inputs, same
bytes (StrictUndefined, no globals that vary, trailing newlines kept).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2


def prompts_dir() -> Path:
    """prompts/ beside the package in a checkout, or inside it in an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "prompts", here / "prompts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("reviewbot prompts directory not found")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    from reviewbot.output.safety import inline
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(prompts_dir())),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = inline          # untrusted text on one line: file names in tables
    return env


def render(name: str, **context: object) -> str:
    return _env().get_template(name).render(**context)
