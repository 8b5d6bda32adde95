"""Definitions and references in source files, with tree-sitter and each grammar's own tags query.

The grammars (Python, JavaScript, TypeScript/TSX, Rust: the languages of the corpus) ship a
`queries/tags.scm`, the query GitHub's code navigation uses: `@definition.function`, `.method`,
`.class`, ... with a `@name`, and `@reference.call`, `.class`, `.type`, `.implementation`. Using
them, not a hand-written walker, keeps what counts as a definition the grammar maintainers' call.
TypeScript's query adds to JavaScript's, so a .ts file runs both.

Pure: bytes in, frozen records out. A file in another language, or one that does not parse, has
no symbols.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path, PurePosixPath

import tree_sitter as ts

# extension -> (grammar module, its language function, the modules whose tags.scm apply, in order)
_LANGUAGES = {
    ".py": ("tree_sitter_python", "language", ("tree_sitter_python",)),
    ".pyi": ("tree_sitter_python", "language", ("tree_sitter_python",)),
    ".js": ("tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".mjs": ("tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".cjs": ("tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".jsx": ("tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".ts": ("tree_sitter_typescript", "language_typescript", ("tree_sitter_javascript", "tree_sitter_typescript")),
    ".mts": ("tree_sitter_typescript", "language_typescript", ("tree_sitter_javascript", "tree_sitter_typescript")),
    ".cts": ("tree_sitter_typescript", "language_typescript", ("tree_sitter_javascript", "tree_sitter_typescript")),
    ".tsx": ("tree_sitter_typescript", "language_tsx", ("tree_sitter_javascript", "tree_sitter_typescript")),
    ".rs": ("tree_sitter_rust", "language", ("tree_sitter_rust",)),
}
MAX_PARSE_BYTES = 1_000_000       # larger files are not parsed (generated code, bundles)


@dataclass(frozen=True, slots=True)     # a large change's touched definitions are kept: small records
class Symbol:
    """A definition: `kind` is the tags query's (function, method, class, interface, module, macro,
    constant); lines are 1-based and inclusive, the whole definition."""

    name: str
    kind: str
    start: int
    end: int
    parent: str = ""      # the enclosing definition's name (a method's class), when there is one


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    kind: str             # call, class, type, implementation
    line: int


@dataclass(frozen=True)
class FileSymbols:
    definitions: tuple[Symbol, ...] = ()
    references: tuple[Reference, ...] = ()

    def enclosing(self, line: int) -> Symbol | None:
        """The innermost definition holding `line`."""
        best = None
        for s in self.definitions:
            if s.start <= line <= s.end and (best is None or s.end - s.start <= best.end - best.start):
                best = s
        return best


def supported(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in _LANGUAGES


def language_of(path: str) -> str | None:
    spec = _LANGUAGES.get(PurePosixPath(path).suffix.lower())
    return None if spec is None else spec[0].removeprefix("tree_sitter_") + (
        "x" if spec[1] == "language_tsx" else "")


@cache
def _parser_and_query(suffix: str) -> tuple[ts.Parser, ts.Query]:
    module, fn, tag_modules = _LANGUAGES[suffix]
    language = ts.Language(getattr(import_module(module), fn)())
    text = "\n".join((Path(str(import_module(m).__file__)).parent / "queries" / "tags.scm").read_text(encoding="utf-8")
                     for m in tag_modules)
    return ts.Parser(language), ts.Query(language, text)


def extract(path: str, source: bytes) -> FileSymbols:
    """The definitions and references of one file, in source order."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix not in _LANGUAGES or len(source) > MAX_PARSE_BYTES:
        return FileSymbols()
    parser, query = _parser_and_query(suffix)
    tree = parser.parse(source)
    defs: dict[tuple[int, int, str], Symbol] = {}
    refs: set[Reference] = set()
    for _, captures in ts.QueryCursor(query).matches(tree.root_node):
        names = captures.get("name") or []
        if not names:
            continue
        name = _text(names[0])
        for capture, nodes in captures.items():
            kind_group, _, kind = capture.partition(".")
            kind = sys.intern(kind)                # kept with each touched definition: one string
            if kind_group == "definition":
                node = nodes[0]
                key = (node.start_point[0], node.end_point[0], name)
                if key not in defs or _rank(kind) < _rank(defs[key].kind):
                    defs[key] = Symbol(name, kind, node.start_point[0] + 1, node.end_point[0] + 1)
            elif kind_group == "reference":
                refs.add(Reference(name, kind, names[0].start_point[0] + 1))
    ordered = sorted(defs.values(), key=lambda s: (s.start, -s.end, s.name))
    with_parents = tuple(_with_parent(s, ordered) for s in ordered)
    return FileSymbols(with_parents, tuple(sorted(refs, key=lambda r: (r.line, r.name, r.kind))))


def _rank(kind: str) -> int:
    return ("method", "function", "class", "interface", "module", "macro", "constant").index(kind) \
        if kind in ("method", "function", "class", "interface", "module", "macro", "constant") else 9


def _with_parent(s: Symbol, ordered: list[Symbol]) -> Symbol:
    holders = [o for o in ordered if o is not s and o.start <= s.start and s.end <= o.end
               and (o.start, -o.end) != (s.start, -s.end)]
    if not holders:
        return s
    parent = min(holders, key=lambda o: o.end - o.start)
    kind = "method" if s.kind == "function" and parent.kind in ("class", "interface") else s.kind
    return Symbol(s.name, kind, s.start, s.end, parent.name)


def _text(node: ts.Node) -> str:
    # interned: the same names recur in every file, and a large change's touched definitions are kept
    return sys.intern((node.text or b"").decode("utf-8", "replace"))
