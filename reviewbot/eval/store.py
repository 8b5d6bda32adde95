"""Resume: finished reviews and judgments, saved the moment they finish, reused by a rerun.

`OUT/reviews/<pr>.<key>.json` holds a review's candidates and its calls; `OUT/judgments/<pr>.<key>.json`
the judge's matches and calls. A key is the sha256 of everything that decides the result: for a
review, the PR's source and every setting of the cell (model, specialists, effort, the whole
config) and the reviewbot version; for a judgment, the judge model, the judge's instructions and
tool schema, the golden comments and the candidates. Change one and the key changes, so nothing
stale is reused; a rerun with the same inputs pays for nothing twice. Only complete reviews and
successful judgments are saved: a partial one is redone. Files are written atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reviewbot.errors import InputError
from reviewbot.eval.score import Candidate, Link
from reviewbot.llm.usage import CallRecord, Usage


class CallEntry(BaseModel):
    label: str
    model: str
    input_tokens: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    output_tokens: int
    stop_reason: str = ""

    @classmethod
    def of(cls, r: CallRecord) -> CallEntry:
        u = r.usage
        return cls(label=r.label, model=r.model, input_tokens=u.input_tokens, cache_write_5m=u.cache_write_5m,
                   cache_write_1h=u.cache_write_1h, cache_read=u.cache_read, output_tokens=u.output_tokens,
                   stop_reason=r.stop_reason)

    def record(self) -> CallRecord:
        usage = Usage(self.input_tokens, self.cache_write_5m, self.cache_write_1h, self.cache_read, self.output_tokens)
        return CallRecord(self.label, self.model, usage, 0.0, 0.0, 0.0, self.stop_reason)


class ReviewRecord(BaseModel):
    key: str
    pr: str
    candidates: list[Candidate]
    specialists: list[str]               # the reviewers that ran
    calls: list[CallEntry]
    notes: list[str] = []


class LinkEntry(BaseModel):
    golden: int
    candidate: int
    kind: str
    reason: str


class JudgmentRecord(BaseModel):
    key: str
    pr: str
    links: list[LinkEntry]
    calls: list[CallEntry]
    notes: list[str] = []

    def link_values(self) -> tuple[Link, ...]:
        return tuple(Link(x.golden, x.candidate, x.kind, x.reason) for x in self.links)


def digest(value: Any) -> str:
    """sha256 of a JSON-serialisable value (keys sorted): the key of a saved result."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=list).encode()).hexdigest()


def slug(pr_id: str) -> str:
    """A file-name-safe short form of a PR id: github.com/acme/widgets/pull/7 -> acme-widgets-pull-7."""
    tail = re.sub(r"^https?://[^/]+/", "", pr_id)
    return re.sub(r"[^A-Za-z0-9]+", "-", tail).strip("-")[:80] or "pr"


R = TypeVar("R", "ReviewRecord", "JudgmentRecord")


class Store:
    """Saved results under one directory (created on the first save)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, kind: str, pr_id: str, key: str) -> Path:
        return self.root / kind / f"{slug(pr_id)}.{key[:16]}.json"

    def _load(self, kind: str, model: type[R], pr_id: str, key: str) -> R | None:
        path = self._path(kind, pr_id, key)
        if not path.is_file():
            return None
        try:
            record = model.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, OSError, UnicodeDecodeError) as e:
            raise InputError(f"saved {kind[:-1]} {path} is unreadable ({type(e).__name__}); "
                             "delete it to redo it") from None
        return record if record.key == key else None

    def _save(self, kind: str, record: ReviewRecord | JudgmentRecord) -> Path:
        path = self._path(kind, record.pr, record.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def load_review(self, pr_id: str, key: str) -> ReviewRecord | None:
        return self._load("reviews", ReviewRecord, pr_id, key)

    def save_review(self, record: ReviewRecord) -> Path:
        return self._save("reviews", record)

    def load_judgment(self, pr_id: str, key: str) -> JudgmentRecord | None:
        return self._load("judgments", JudgmentRecord, pr_id, key)

    def save_judgment(self, record: JudgmentRecord) -> Path:
        return self._save("judgments", record)
