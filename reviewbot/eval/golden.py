"""The golden set: PRs with human-checked comments, in the Martian Code Review Bench format.

The benchmark (github.com/withmartian/code-review-benchmark, `offline/golden_comments/*.json`)
keeps one JSON file per repository: a list of PRs, each with its title, its URL and its golden
comments (a description of the issue and a severity, Low to Critical). `reviewbot eval` reads
those files unchanged (a file, or a directory of them). Extra keys of the benchmark (such as
`original_url` or `az_comment`) are accepted and ignored.

Two optional keys of our own let a golden PR come from a local git repository instead of the
GitHub API, so a golden set can be run offline: `bundle` (a git bundle, relative to the golden
file, with branches `base` and `pr` unless `base`/`head` say otherwise) or `repo` (a local
repository, relative to the golden file) with `base` and `head`.

The pydantic models here are both the documentation of the format and its validation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reviewbot.errors import ConfigError

SEVERITIES = ("critical", "high", "medium", "low")          # the benchmark's, most severe first
_PR_URL = re.compile(r"^https?://[^/]+/(?P<repo>[^/\s]+/[^/\s]+)/pulls?/(?P<number>\d+)/?$")


class GoldenComment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    comment: str = Field(min_length=1, description="the issue, as a human reviewer describes it")
    severity: Literal["critical", "high", "medium", "low"]

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v


class GoldenPR(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pr_title: str = ""
    url: str = Field(min_length=1, description="the pull request's URL, https://HOST/OWNER/REPO/pull/N")
    comments: list[GoldenComment]
    # reviewbot's own keys, for a local source (relative to the golden file)
    bundle: str | None = None
    repo: str | None = None
    base: str | None = None
    head: str | None = None

    @model_validator(mode="after")
    def _source(self) -> GoldenPR:
        if self.bundle and self.repo:
            raise ValueError("give 'bundle' or 'repo', not both")
        if self.repo and not (self.base and self.head):
            raise ValueError("'repo' needs 'base' and 'head'")
        if not (self.bundle or self.repo) and parse_pr_url(self.url) is None:
            raise ValueError(f"'url' is not a pull request URL (https://github.com/OWNER/REPO/pull/N): {self.url!r}")
        return self


_GoldenFile = list[GoldenPR]


@dataclass(frozen=True)
class Golden:
    """One golden PR, its source resolved: GitHub (repository, number) or a local repository/bundle."""

    id: str                                   # the URL: the key of every result
    title: str
    comments: tuple[GoldenComment, ...]
    repository: str | None = None             # OWNER/NAME, read through the GitHub API
    number: int | None = None
    local: Path | None = None                 # a bundle file or a repository directory
    base: str | None = None
    head: str | None = None

    @property
    def is_local(self) -> bool:
        return self.local is not None


def parse_pr_url(url: str) -> tuple[str, int] | None:
    """(OWNER/NAME, number) of a pull request URL on github.com or a GitHub Enterprise host."""
    m = _PR_URL.match(url.strip())
    return (m["repo"], int(m["number"])) if m else None


def _resolve(pr: GoldenPR, folder: Path) -> Golden:
    comments = tuple(pr.comments)
    if pr.bundle or pr.repo:
        local = folder / (pr.bundle or pr.repo or "")
        return Golden(pr.url, pr.pr_title, comments, local=local,
                      base=pr.base or ("base" if pr.bundle else None), head=pr.head or ("pr" if pr.bundle else None))
    repository, number = parse_pr_url(pr.url) or ("", 0)
    return Golden(pr.url, pr.pr_title, comments, repository=repository, number=number)


def _one_line(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def parse_golden(text: str, where: str, folder: Path) -> tuple[Golden, ...]:
    """The PRs of one golden file's text. Pure apart from nothing: `folder` only anchors local paths."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"golden set {where}: not JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and "url" in data:
        data = [data]                          # a single PR object is accepted too
    if not isinstance(data, list):
        raise ConfigError(f"golden set {where}: expected a list of pull requests")
    out = []
    for i, item in enumerate(data):
        try:
            out.append(_resolve(GoldenPR.model_validate(item), folder))
        except ValidationError as e:
            raise ConfigError(f"golden set {where}: entry {i}: {_one_line(e)}") from None
    return tuple(out)


def load_golden(path: Path) -> tuple[Golden, ...]:
    """A golden file, or every *.json of a directory (the benchmark's golden_comments/), in name order.

    The same URL twice is an error: results are keyed by it."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise ConfigError(f"golden set {path}: no .json files in the directory")
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"golden set not found: {path}")
    prs: list[Golden] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read golden set {f}: {e}") from None
        prs += parse_golden(text, str(f), f.parent)
    seen: set[str] = set()
    for g in prs:
        if g.id in seen:
            raise ConfigError(f"golden set {path}: {g.id} appears twice")
        seen.add(g.id)
    if not prs:
        raise ConfigError(f"golden set {path}: no pull requests")
    return tuple(prs)
