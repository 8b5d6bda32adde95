"""The shape of the package: help answers without the SDKs, no import cycle, every exception in
reviewbot/errors.py."""
from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import errors
from reviewbot.commands import COMMANDS

PACKAGE = Path(__file__).resolve().parents[1] / "reviewbot"

# Import names of the packages a command needs only when it runs (the SDKs, git, templates, scanners).
HEAVY = ("anthropic", "github", "unidiff", "git", "jinja2", "detect_secrets", "tree_sitter", "pydantic", "httpx")

# Commands whose module still imports its run at module level, with the owner who makes it light.
# Empty: every command module is flags only, its body imported by its `run`.
HEAVY_COMMANDS: dict[str, str] = {}

# Import cycles known in files this branch does not own: {frozenset(modules): owner}. Empty.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def _imported_by(argv: list[str]) -> list[str]:
    """The HEAVY packages in sys.modules after building the CLI's parser and parsing ARGV (--help)."""
    code = f"""
import contextlib, io, json, sys
import reviewbot.cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        reviewbot.cli.parser().parse_args({argv!r})
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_top_level_help_imports_no_sdk():
    assert _imported_by(["--help"]) == []


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in HEAVY_COMMANDS])
def test_a_commands_help_imports_no_sdk(command):
    assert _imported_by([command, "--help"]) == []


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module) -> list[str]:
    """reviewbot modules imported when the module is (not inside functions, not under TYPE_CHECKING)."""
    names: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)
                names.extend(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
    visit(tree.body)
    return [n for n in names if n == "reviewbot" or n.startswith("reviewbot.")]


def import_graph() -> dict[str, set[str]]:
    """Module -> the reviewbot modules importing it loads: each one named, and the packages above it
    (their __init__ runs first), except the importer's own packages (loaded before it anyway)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imported in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = imported.split(".")
            deps.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        graph[name] = {d for d in deps if d in modules and d != name and not name.startswith(d + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle():
    assert set(cycles(import_graph())) - set(KNOWN_CYCLES) == set()


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_the_graph_sees_module_level_imports_only():
    graph = import_graph()
    assert "reviewbot.commands.review_run" not in graph["reviewbot.commands.review"]   # inside run()
    assert "reviewbot.errors" in graph["reviewbot.commands.review"]
    assert "reviewbot.pipeline.review" in graph["reviewbot.commands.review_run"]


def _exception_classes_outside_errors() -> list[str]:
    """Classes defined outside errors.py whose base is an exception (a builtin or one of errors.py)."""
    exception_names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    exception_names |= {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, BaseException)}
    found = []
    for name, path in _modules().items():
        if name == "reviewbot.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                         for b in node.bases}
                if bases & exception_names:
                    found.append(f"{name}.{node.name}")
    return found


def test_every_exception_is_defined_in_errors():
    assert _exception_classes_outside_errors() == []


def test_every_exit_code_an_exception_carries_is_in_the_table():
    carried = {v.exit_code for v in vars(errors).values()
               if isinstance(v, type) and issubclass(v, errors.ReviewbotError)}
    assert carried <= set(errors.BY_CODE)


def test_the_format_names_are_the_renderers():
    from reviewbot.output import render
    from reviewbot.output.formats import FORMAT_NAMES, MACHINE_FORMATS

    assert set(FORMAT_NAMES) == set(render.FORMATS)
    assert MACHINE_FORMATS == render.MACHINE_FORMATS
