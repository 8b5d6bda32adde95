"""Avoidable tokens of a shared prefix: what it carries that a leaner layout would not. Pure.

Three kinds of waste, each detected in the prefix as sent (not in how reviewbot meant to build it,
so the measure also catches a regression):

- repetition: a line of the context file, outside its file table, that lists patch files the table
  already names (the old "Routing" section repeated the table's reviewers column);
- deleted bodies: a pre-read patch of a deleted file beyond its first DELETED_HEAD_LINES lines (a
  reviewer judges what the change leaves; the body stays on disk for read_file);
- framing: every pre-read block of a patch beyond the first (one read can carry them all), and any
  read whose text another read already carries.

Sizes are in characters of the serialised prefix messages, so the ratio is tokenizer-independent
(the tools and system prompt count in the whole, and hold nothing avoidable).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from reviewbot.agents.requests import Prefix
from reviewbot.workspace.layout import CONTEXT_FILE, DELETED_HEAD_LINES

_PATCH_NAME = re.compile(r"diff/\d{3}-[A-Za-z0-9._-]+\.patch")
_FILE_HEADER = re.compile(r"^diff --git ", re.MULTILINE)


@dataclass(frozen=True)
class PrefixWaste:
    total: int              # characters of the prefix as sent (tools, system, prefix messages)
    repeated: int
    deleted: int
    framing: int

    @property
    def avoidable(self) -> int:
        return self.repeated + self.deleted + self.framing

    @property
    def share(self) -> float:
        return self.avoidable / self.total if self.total else 0.0


def _repeated(context: str) -> int:
    return sum(len(line) + 1 for line in context.splitlines()
               if not line.startswith("|") and len(_PATCH_NAME.findall(line)) >= 1)


def _deleted(text: str) -> int:
    """Characters of deleted files' bodies beyond their first lines, in one read's text."""
    waste = 0
    starts = [m.start() for m in _FILE_HEADER.finditer(text)] or ([0] if text.startswith("--- ") else [])
    for a, b in zip(starts, starts[1:] + [len(text)], strict=False):   # no header: nothing
        chunk = text[a:b]
        if "\n+++ /dev/null" not in chunk and not chunk.startswith("+++ /dev/null"):
            continue
        body = [ln for ln in chunk.splitlines() if ln.startswith("-") and not ln.startswith("--- ")]
        waste += sum(len(ln) + 1 for ln in body[DELETED_HEAD_LINES:])
    return waste


def prefix_waste(prefix: Prefix) -> PrefixWaste:
    body = {"tools": list(prefix.tools), "system": prefix.system(), "messages": prefix.messages()}
    total = len(json.dumps(body, ensure_ascii=False))
    repeated = sum(_repeated(text) for path, text in prefix.reads if path == CONTEXT_FILE)
    deleted = sum(_deleted(text) for _, text in prefix.reads)
    framing, patch_reads = 0, 0
    seen: set[str] = set()
    for path, text in prefix.reads:
        block = 2 * len(json.dumps({"type": "tool_use", "id": "toolu_reviewbot_preload_000", "name": "read_file",
                                    "input": {"path": path}}))
        if text in seen:
            framing += block + len(text)
        seen.add(text)
        if path.endswith(".patch"):
            patch_reads += 1
            framing += block if patch_reads > 1 else 0
    return PrefixWaste(total, repeated, deleted, framing)
