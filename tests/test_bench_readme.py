"""tools/bench_readme.py: the README's bench block replaced by a run's tables (the pure splice), and the
README carrying the block."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_readme", ROOT / "tools" / "bench_readme.py")
assert _spec is not None and _spec.loader is not None
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

MD = "## reviewbot bench: m\n\n### Cost per review\n\n| PR | x |\n|---|---:|\n| a | 1 |\n"


def test_splice_replaces_only_the_block_and_demotes_the_headings():
    readme = f"# r\n\n## Benchmark\n\nbefore\n{tool.START}\nold table\n{tool.END}\nafter\n"
    out = tool.splice(readme, MD, "reviewbot bench --corpus c", 754.0)
    assert out.startswith("# r\n\n## Benchmark\n\nbefore\n" + tool.START + "\n") and out.endswith(tool.END + "\nafter\n")
    assert "old table" not in out and "| a | 1 |" in out
    assert "**reviewbot bench: m**" in out and "#### Cost per review" in out and "\n## reviewbot" not in out
    assert "`reviewbot bench --corpus c` in 13 minutes (754 s)" in out
    assert tool.splice(out, MD, "reviewbot bench --corpus c", 754.0) == out          # idempotent


def test_splice_without_the_markers_is_an_error():
    with pytest.raises(ValueError, match="no <!-- bench:start"):
        tool.splice("# r\n", MD, "c", 1.0)
    with pytest.raises(ValueError):
        tool.splice(f"{tool.END}\n{tool.START}\n", MD, "c", 1.0)


def test_the_readme_has_the_block_and_it_holds_docs_bench_md():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(tool.START)[1].split(tool.END)[0]
    assert tool.demoted((ROOT / "docs" / "bench.md").read_text(encoding="utf-8")) in block
