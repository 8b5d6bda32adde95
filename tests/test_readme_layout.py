"""README's "Layout" table is the tree: every package and module of reviewbot/ is named in it, and
everything it names exists."""
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "reviewbot"


def _table() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Layout", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()


def named() -> dict[str, set[str]]:
    """package ("" for the top level) -> the module names the table gives it."""
    out: dict[str, set[str]] = {}
    for line in _table():
        if m := re.match(r"^  ([a-z_]+)/\s+(.+?) — ", line):
            out[m[1]] = set(m[2].split())
        elif m := re.match(r"^  ((?:[a-z_]+\.py ?)+) — ", line):
            out[""] = {name.removesuffix(".py") for name in m[1].split()}
    return out


def on_disk() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"": {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}}
    for d in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        out[d.name] = {p.stem for p in d.glob("*.py") if p.stem not in ("__init__", "__main__")}
    return out


def test_the_layout_table_names_every_package_and_module():
    assert named() == on_disk()


def test_the_layout_table_names_the_tools_outside_the_wheel():
    tools = [line for line in _table() if line.startswith("tools/")]
    for line in tools:
        assert (ROOT / line.split(" — ")[0]).exists(), line
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "tools").glob("*.py")} == {
        line.split(" — ")[0] for line in tools}
