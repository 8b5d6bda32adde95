"""The related-code section of the shared prefix: the code around the change, found once, for all.

For the definitions (functions, methods, classes) the change touches: their full definition at
head (unless the patch already shows all of it), and their callers elsewhere in the repository;
for a definition the change removes, the callers that still use it; for the names the added
lines start to use, their definitions; and the tests that refer to the changed code. Symbols
come from tree-sitter (reviewbot.repo.symbols), occurrences from one `git grep -w` over the
head tree.

Ranked (removed definitions' callers, touched definitions, callers, new names' definitions,
tests; in each, the change's own order), then cut to a token budget that scales with the change.
Pure given the trees: the same change and repository give the same bytes, so the section is one
cache write shared by every call.
"""
from __future__ import annotations

import math
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property

from reviewbot.domain.change import Change, FileChange
from reviewbot.domain.kinds import file_kind
from reviewbot.domain.result import Related as Related  # the record moved to domain (ReviewResult carries it)
from reviewbot.errors import RepoError
from reviewbot.output.safety import fence, inline
from reviewbot.repo.symbols import FileSymbols, Symbol, extract, supported
from reviewbot.repo.tree import Repository, RepoTree

RELATED_FILE = "related-code.txt"
MAX_DEFINITION_LINES = 60        # a longer definition is shown up to here, with a note
CALLER_CONTEXT = 2               # lines either side of a call site
MAX_NAMES = 40                   # names searched for, the change's first ones
MAX_HITS = 3000                  # grep matches read
MAX_PREFETCH = 300               # files read in one batch before the snippets are cut
MAX_PER_NAME = 6                 # call sites / tests shown per name
MIN_NAME_LENGTH = 3              # shorter names match too much to be worth a search
CHARS_PER_TOKEN = 3.5            # the estimate the budget is counted in (code runs ~3-4 chars a token)

REMOVED_CALLER, DEFINITION, CALLER, NEW_NAME, TEST = range(5)
_HEADINGS = {
    REMOVED_CALLER: "Still used: callers of definitions the change removes or renames",
    DEFINITION: "Definitions the change touches, whole, at head (those the patch shows in full are left out)",
    CALLER: "Callers of the touched definitions, elsewhere in the repository",
    NEW_NAME: "Definitions of names the added lines start to use",
    TEST: "Tests that refer to the changed code",
}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def budget_for(change: Change, ceiling: int) -> int:
    """The section's token budget: 600 tokens plus 25 per changed line, up to `ceiling` (0: off)."""
    if ceiling <= 0:
        return 0
    return min(ceiling, 600 + 25 * (change.additions + change.deletions))


# name -> (path, line) of its whole-word occurrences at head
_Hits = dict[str, list[tuple[str, int]]]


@dataclass(frozen=True)
class Item:
    rank: int
    order: tuple[int | str, ...]   # position in the change, then path and line: deterministic
    path: str
    start: int
    end: int
    title: str
    body: str                 # numbered source lines

    def render(self) -> str:
        return f"#### {inline(self.path)}:{self.start}-{self.end} {self.title}\n{fence('repository', self.body)}\n"


class _Text:
    """A file's text, decoded and split into lines only when a snippet of it is shown (most changed
    files never are, and a list of lines costs several times the bytes)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    @cached_property
    def lines(self) -> list[str]:
        return self.data.decode("utf-8", "replace").splitlines()


def _numbered(text: _Text, start: int, end: int, cap: int | None = None) -> str:
    lines = text.lines
    last = end if cap is None else min(end, start + cap - 1)
    body = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(start, last + 1) if 0 < n <= len(lines))
    if last < end:
        body += f"\n      [... {end - last} more line(s): read_file to see them]"
    return body


@cache
def _is_test(path: str) -> bool:
    return file_kind(path) == "test"


class _Files:
    """Parsed files of one tree, each parsed once, with an index of (name, line) of its
    definitions' first lines and of its references."""

    def __init__(self, tree: RepoTree):
        self.tree = tree
        self._cache: dict[str, tuple[_Text, FileSymbols] | None] = {}
        self._index: dict[str, tuple[set[tuple[str, int]], set[tuple[str, int]]]] = {}

    def index(self, path: str) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
        if path not in self._index:
            parsed = self.get(path)
            syms = parsed[1] if parsed else FileSymbols()
            self._index[path] = ({(d.name, d.start) for d in syms.definitions},
                                 {(r.name, r.line) for r in syms.references})
        return self._index[path]

    def get(self, path: str) -> tuple[_Text, FileSymbols] | None:
        if path not in self._cache:
            try:
                data = self.tree.read(path) if supported(path) else None
            except ValueError:          # a symlink out of the tree
                data = None
            self._cache[path] = _parsed(path, data)
        return self._cache[path]

    def stream(self, paths: list[str]) -> Iterator[tuple[_Text, FileSymbols] | None]:
        """What `get` gives for each path, in order, read in one stream and kept nowhere: the changed
        files are parsed once each, and a large change's files are never all in memory at once."""
        for path, data in self.tree.blobs(paths):
            yield _parsed(path, data)


def _parsed(path: str, data: bytes | None) -> tuple[_Text, FileSymbols] | None:
    if data is None or b"\0" in data[:8000]:
        return None
    return _Text(data), extract(path, data)


def _touched(f: FileChange, symbols: FileSymbols, side: str) -> list[Symbol]:
    """Innermost definitions holding a changed line: added lines (head) or removed lines (base)."""
    if not symbols.definitions:
        return []
    if side == "head":
        lines = sorted({ln.new_no for h in f.hunks for ln in h.iter_lines() if ln.kind == "+" and ln.new_no})
    else:
        lines = sorted({ln.old_no for h in f.hunks for ln in h.iter_lines() if ln.kind == "-" and ln.old_no})
    out: list[Symbol] = []
    for n in lines:
        s = symbols.enclosing(n)
        if s is not None and s not in out:
            out.append(s)
    return out


def build_related(change: Change, repo: Repository | None, budget: int) -> Related:
    """The section for `change` within `budget` estimated tokens (0: no section). A repository git
    cannot read gives no section and a note, not a failed review."""
    if repo is None or budget <= 0:
        return Related("", budget, 0, 0, 0)
    try:
        return _build(change, repo, budget)
    except RepoError as e:
        return Related("", budget, 0, 0, 0, note=f"related code left out: {e}")


def _build(change: Change, repo: Repository, budget: int) -> Related:
    head, base = _Files(repo.head), _Files(repo.base) if repo.base is not None else None
    code = [f for f in change.files
            if supported(f.path) and not f.is_binary and "120000" not in (f.new_mode, f.old_mode)]
    heads = head.stream([f.path for f in code if f.status != "deleted"])
    bases = base.stream([f.old_path or f.path for f in code if f.status != "added"]) if base is not None else None
    items: list[Item] = []
    touched, removed = _Found(), _Found()           # definitions at head in change order; gone from head
    new_names: list[str] = []
    seen_new: set[str] = set()                      # new_names as a set (a large change has thousands)
    for fi, f in enumerate(change.files):
        if not supported(f.path) or f.is_binary or "120000" in (f.new_mode, f.old_mode):
            continue                                 # a symlink's patch is its target, not code
        now = next(heads) if f.status != "deleted" else None
        old = next(bases) if bases is not None and f.status != "added" else None
        if now is not None:
            lines, syms = now
            shown = f.commentable_lines               # new-file lines the patch already shows
            for s in _touched(f, syms, "head"):
                touched.add(f.path, s)
                if not all(n in shown for n in range(s.start, s.end + 1)):
                    items.append(Item(DEFINITION, (fi, s.start), f.path, s.start, s.end, _title(s),
                                      _numbered(lines, s.start, s.end, MAX_DEFINITION_LINES)))
            referenced = {r.line for r in syms.references}       # the added lines that matter here
            added = {ln.new_no for h in f.hunks for ln in h.iter_lines() if ln.kind == "+" and ln.new_no in referenced}
            known = {s.name for s in syms.definitions} | ({r.name for r in old[1].references} if old else set())
            for r in syms.references:
                if r.line in added and r.name not in known and r.name not in seen_new:
                    new_names.append(r.name)
                    seen_new.add(r.name)
        if old is not None:
            alive = {s.name for s in now[1].definitions} if now is not None else set()
            for s in _touched(f, old[1], "base"):
                if s.name not in alive:
                    removed.add(f.old_path or f.path, s)
    names = _names(removed.names + touched.names + new_names)
    hits = _grep(repo.head, names)
    chosen = set(names)                # only these have hits: the others' symbols would add nothing
    repo.head.prefetch(sorted({path for found in hits.values() for path, _ in found})[:MAX_PREFETCH])
    changed_paths = {f.path for f in change.files}
    items += _callers(head, hits, removed.of(chosen), REMOVED_CALLER, changed_paths)
    items += _callers(head, hits, touched.of(chosen), CALLER, changed_paths)
    items += _definitions(head, hits, [n for n in new_names if n in names], changed_paths)
    items += _tests(head, hits, [n for n in touched.names + removed.names if n in chosen], changed_paths)
    return _cut(_dedupe(items), budget)


class _Found:
    """(path, symbol) pairs in the order found, held as columns (names, kinds and paths are shared
    strings, lines in arrays): a large change touches tens of thousands of definitions, and a record
    each, kept while its files' parses come and go, would pin memory far beyond its size."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.names: list[str] = []
        self._kinds: list[str] = []
        self._parents: list[str] = []
        self._lines = array("q")

    def add(self, path: str, s: Symbol) -> None:
        self.paths.append(path)
        self.names.append(s.name)
        self._kinds.append(s.kind)
        self._parents.append(s.parent)
        self._lines.extend((s.start, s.end))

    def of(self, names: set[str]) -> Iterator[tuple[str, Symbol]]:
        """The pairs whose symbol has one of `names`, in order, one at a time."""
        for i, name in enumerate(self.names):
            if name in names:
                yield self.paths[i], Symbol(name, self._kinds[i], self._lines[2 * i], self._lines[2 * i + 1],
                                            self._parents[i])


def _title(s: Symbol, note: str = "") -> str:
    name = f"{s.parent}.{s.name}" if s.parent else s.name
    return f"`{inline(name)}` ({s.kind}{', ' + note if note else ''})"


def _names(candidates: list[str]) -> list[str]:
    out: list[str] = []
    for n in candidates:
        if len(n) >= MIN_NAME_LENGTH and re.fullmatch(r"[A-Za-z_$][\w$]*", n) and n not in out:
            out.append(n)
    return out[:MAX_NAMES]


def _grep(tree: RepoTree, names: list[str]) -> _Hits:
    """(path, line) of each whole-word occurrence of each name at head, in path and line order."""
    if not names:
        return {}
    pattern = "(" + "|".join(re.escape(n).replace("\\$", "[$]") for n in names) + ")"
    matches, _ = tree.grep(pattern, regex=True, word=True, limit=MAX_HITS)
    found: dict[str, list[tuple[str, int]]] = {n: [] for n in names}
    words = re.compile(r"[A-Za-z_$][\w$]*")
    for m in matches:
        if not supported(m.path):
            continue
        for w in set(words.findall(m.text)) & found.keys():
            found[w].append((m.path, m.line))
    return found


def _callers(files: _Files, hits: _Hits, symbols: Iterable[tuple[str, Symbol]], rank: int,
             changed: set[str]) -> list[Item]:
    items: list[Item] = []
    for si, (def_path, sym) in enumerate(symbols):
        shown = 0
        for path, line in hits.get(sym.name, ()):
            if shown >= MAX_PER_NAME:
                break
            if _is_test(path) or (path == def_path and sym.start <= line <= sym.end):
                continue                              # tests have their own section; the definition itself
            parsed = files.get(path)
            if parsed is None:
                continue
            lines, syms = parsed
            defs, refs = files.index(path)
            if (sym.name, line) in defs or (sym.name, line) not in refs:
                continue                              # another definition, or a mention (comment, string, import)
            holder = syms.enclosing(line)
            start, end = max(1, line - CALLER_CONTEXT), min(len(lines.lines), line + CALLER_CONTEXT)
            where = f"in `{inline(holder.name)}`" if holder else "at module level"
            note = " (changed file)" if path in changed else ""
            items.append(Item(rank, (si, path, line), path, start, end,
                              f"uses `{inline(sym.name)}` {where}{note}", _numbered(lines, start, end)))
            shown += 1
    return items


def _definitions(files: _Files, hits: _Hits, names: list[str], changed: set[str]) -> list[Item]:
    items: list[Item] = []
    for ni, name in enumerate(names):
        for path, line in hits.get(name, ()):
            parsed = files.get(path)
            if parsed is None or path in changed:
                continue
            lines, syms = parsed
            for s in syms.definitions:
                if s.name == name and s.start == line:
                    items.append(Item(NEW_NAME, (ni, path, line), path, s.start, s.end, _title(s),
                                      _numbered(lines, s.start, s.end, MAX_DEFINITION_LINES)))
    return items


def _tests(files: _Files, hits: _Hits, names: list[str], changed: set[str]) -> list[Item]:
    items: list[Item] = []
    for ni, name in enumerate(names):
        shown = 0
        for path, line in hits.get(name, ()):
            if shown >= MAX_PER_NAME or not _is_test(path):
                continue
            parsed = files.get(path)
            if parsed is None:
                continue
            lines, syms = parsed
            holder = syms.enclosing(line)
            if holder is not None and holder.end - holder.start < 40:
                start, end, title = holder.start, holder.end, _title(holder, f"refers to `{inline(name)}`")
            else:
                start, end = max(1, line - CALLER_CONTEXT), min(len(lines.lines), line + CALLER_CONTEXT)
                title = f"refers to `{inline(name)}`"
            note = " (changed file)" if path in changed else ""
            items.append(Item(TEST, (ni, path, start), path, start, end, title + note, _numbered(lines, start, end)))
            shown += 1
    return items


def _dedupe(items: list[Item]) -> list[Item]:
    """One item per source range (the best-ranked), and none inside another item of the same file."""
    items = sorted(items, key=lambda i: (i.rank, i.order))
    kept: list[Item] = []
    for it in items:
        if any(k.path == it.path and k.start <= it.start and it.end <= k.end for k in kept):
            continue
        kept.append(it)
    return kept


def _cut(items: list[Item], budget: int) -> Related:
    """The items in rank order while they fit in the budget; one that does not fit is skipped, and
    smaller ones after it may still go in."""
    head = ("## Related code\n"
            "Code around the change, from the repository at the head commit, found by reviewbot from the "
            "definitions the change touches and the names it uses (tree-sitter and git grep; not "
            "exhaustive: names are matched as words). It is not part of the diff: report nothing about it "
            "unless the change makes it wrong. Read more with read_file and search_code.\n")
    used = estimate_tokens(head)
    chosen: list[Item] = []
    for it in items:
        cost = estimate_tokens(it.render())
        if used + cost <= budget:
            chosen.append(it)
            used += cost
    while chosen:
        text = _assemble(head, chosen, len(items), budget)
        if estimate_tokens(text) <= budget:        # headings and the closing note fit too
            return Related(text, budget, estimate_tokens(text), len(chosen), len(items))
        chosen.pop()
    return Related("", budget, 0, 0, len(items))


def _assemble(head: str, chosen: list[Item], found: int, budget: int) -> str:
    parts, rank = [head], None
    for it in chosen:
        if it.rank != rank:
            parts.append(f"\n### {_HEADINGS[it.rank]}\n")
            rank = it.rank
        parts.append(it.render())
    if len(chosen) < found:
        parts.append(f"\n({found - len(chosen)} more related snippet(s) left out to stay within "
                     f"{budget} tokens: use search_code to find them.)\n")
    return "".join(parts)
