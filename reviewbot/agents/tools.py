"""The tool list every call of a review sends: same tools, same order, same schemas.

The tool list is the first part of the cached prefix, so it is a constant. read_file and search_code
read the workspace and the repository (ToolBox, one per agent); submit_findings reports. The model
answers only through these schemas (findings are never parsed out of free text). submit_findings'
input schema is generated from the pydantic models that validate its input
(reviewbot.domain.findings.SubmissionInput), so what the model is told and what is checked are one
definition. One reporting tool serves the specialists and the summary agent alike, because a
second terminal tool would either change the tool list between calls (a cache miss) or require a
forced tool_choice (also a miss).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reviewbot.agents.answer import ANSWER_THREAD
from reviewbot.domain.findings import SUBMISSION_SCHEMA
from reviewbot.errors import ToolInputError
from reviewbot.repo.tree import Match, Repository, RepoTree

READ_FILE_NAME, SEARCH_NAME, SUBMIT_NAME = "read_file", "search_code", "submit_findings"

READ_FILE: dict[str, Any] = {
    "name": READ_FILE_NAME,
    "description": (
        "Read one file and return its text: a workspace file (shared-mr-context.txt, diff/NNN-*.patch as "
        "named in its file table, related-code.txt) or any file of the repository at the head commit "
        "(src/app.py, or head/src/app.py); base/src/app.py is the file before the change, a directory "
        "gives its listing. Long files are cut: continue with start_line. Absolute paths, '..' and links "
        "out of the workspace or repository are refused."),
    "input_schema": {
        "type": "object",
        "properties": {
            "path": {"type": "string",
                     "description": "e.g. diff/001-src__app.py.patch, src/app.py, base/src/app.py"},
            "start_line": {"type": "integer", "minimum": 1,
                           "description": "First line to return (default 1), to read on in a long file."},
        },
        "required": ["path"],
    },
}

SEARCH_CODE: dict[str, Any] = {
    "name": SEARCH_NAME,
    "description": (
        "Search the repository's text files (git grep over the commit, head by default) and return the "
        "matching lines with their line numbers and a line of context either side, at most 50 matches. "
        "Use it to find callers, definitions, tests and configuration the patches do not show."),
    "input_schema": {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "minLength": 1, "maxLength": 200,
                        "description": "A literal string, or a POSIX extended regex when regex is true "
                                       "(use [0-9] rather than \\d)."},
            "regex": {"type": "boolean", "description": "Treat pattern as a regex (default false: literal)."},
            "glob": {"type": "string", "description": "Only files whose repository path matches, e.g. "
                                                      "src/*.py or *test* (* also matches /)."},
            "word": {"type": "boolean", "description": "Whole words only (default false)."},
            "at": {"type": "string", "enum": ["head", "base"],
                   "description": "Search the head commit (default) or the base, before the change."},
        },
        "required": ["pattern"],
    },
}

SUBMIT_FINDINGS: dict[str, Any] = {
    "name": SUBMIT_NAME,
    "description": (
        "Report your result once, at the end; this ends your review. Specialists: every finding in "
        "`findings` (an empty list when there is nothing worth raising). Summary reviewer: `verdict`, "
        "`overview`, `rejected` and `duplicates` refer to the numbered findings you were given; put in "
        "`findings` only a new issue you found while verifying (normally none)."),
    "input_schema": SUBMISSION_SCHEMA,        # generated from the models that validate the input
}

TOOLS = (READ_FILE, SEARCH_CODE, SUBMIT_FINDINGS, ANSWER_THREAD)

MAX_MATCHES = 50
MAX_SEARCH_CHARS = 20_000
MAX_AGENT_CHARS = 400_000           # repository text one agent may read, reads and searches together


class ToolBox:
    """The reading tools of one agent: read_file and search_code over its workspace and the
    repository, with the per-agent cap and the counts the review reports. A failure raises
    ToolInputError, which the agent loop returns as an is_error result."""

    def __init__(self, workspace_root: Path, repo: Repository | None = None, max_chars: int = MAX_AGENT_CHARS):
        self.root, self.repo, self.left, self.max_chars = workspace_root, repo, max_chars, max_chars
        self.counts = {READ_FILE_NAME: 0, SEARCH_NAME: 0}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], str]]:
        return {READ_FILE_NAME: self.read_file, SEARCH_NAME: self.search_code}

    def _spend(self, text: str) -> str:
        if len(text) > self.left:
            raise ToolInputError(f"this reviewer's reading budget ({self.max_chars} characters) is spent: "
                                 "submit your findings with what you have")
        self.left -= len(text)
        return text

    def read_file(self, args: dict[str, Any]) -> str:
        from reviewbot.workspace.files import read_path
        start = args.get("start_line", 1)
        if not isinstance(start, int) or isinstance(start, bool) or start < 1:
            raise ToolInputError("start_line must be a positive integer")
        self.counts[READ_FILE_NAME] += 1
        return self._spend(read_path(self.root, self.repo, args.get("path", ""), start))

    def search_code(self, args: dict[str, Any]) -> str:
        pattern, glob, at = args.get("pattern"), args.get("glob") or "", args.get("at") or "head"
        if not isinstance(pattern, str) or not pattern or len(pattern) > 200 or "\x00" in pattern:
            raise ToolInputError("search_code needs a 'pattern' of 1 to 200 characters")
        if not isinstance(glob, str) or "\x00" in glob or at not in ("head", "base"):
            raise ToolInputError("'glob' must be a path glob and 'at' one of head, base")
        if self.repo is None:
            raise ToolInputError("no repository is available in this review: search the patches with read_file")
        tree = self.repo.base if at == "base" else self.repo.head
        if tree is None:
            raise ToolInputError("the base commit is not available in this review")
        self.counts[SEARCH_NAME] += 1
        matches, more = tree.grep(pattern, regex=bool(args.get("regex")), glob=glob, word=bool(args.get("word")),
                                  limit=MAX_MATCHES)
        return self._spend(render_matches(tree, pattern, at, matches, more))


def render_matches(tree: RepoTree, pattern: str, at: str, matches: Sequence[Match], more: bool) -> str:
    """`path` headers, then `  12: text` for matches and `  11- text` for a line of context."""
    if not matches:
        return f"no match for {pattern!r} at {at}\n"
    out = [f"{len(matches)}{'+' if more else ''} match(es) for {pattern!r} at {at}"
           + (f" (the first {MAX_MATCHES}; narrow the pattern or the glob for the rest)" if more else "")]
    by_path: dict[str, list[int]] = {}
    for m in matches:
        by_path.setdefault(m.path, []).append(m.line)
    for path, hit_lines in by_path.items():
        data = tree.read(path) or b""
        lines = data.decode("utf-8", "replace").splitlines()
        show = sorted({n for h in hit_lines for n in (h - 1, h, h + 1) if 0 < n <= len(lines)})
        out.append(f"\n{path}")
        prev = None
        for n in show:
            if prev is not None and n > prev + 1:
                out.append("  --")
            out.append(f"  {n}{':' if n in hit_lines else '-'} {lines[n - 1][:300]}".rstrip())
            prev = n
    text = "\n".join(out) + "\n"
    if len(text) > MAX_SEARCH_CHARS:
        text = text[:text.rfind("\n", 0, MAX_SEARCH_CHARS) + 1] + "[reviewbot] results cut; narrow the search\n"
    return text
