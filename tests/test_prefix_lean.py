"""The lean shared prefix: deleted files summarised, one pre-read block, no repeated section, and the
measure of what a prefix carries that it need not (reviewbot.bench.prefix)."""
from __future__ import annotations

from dataclasses import replace

from helpers import change, file_change

from reviewbot.agents.requests import Prefix
from reviewbot.bench.prefix import prefix_waste
from reviewbot.config import Config
from reviewbot.domain.change import FileChange, Hunk, Line
from reviewbot.pipeline.review import prepare
from reviewbot.workspace.layout import CONTEXT_FILE, DELETED_HEAD_LINES, PRELOADED_FILE


def deleted_file(path: str = "src/old.py", n: int = 40) -> FileChange:
    lines = tuple(Line("-", i, None, f"old line {i} " + "x" * 30) for i in range(1, n + 1))
    body = "".join(f"-{ln.text}\n" for ln in lines)
    patch = (f"diff --git a/{path} b/{path}\ndeleted file mode 100644\n--- a/{path}\n+++ /dev/null\n"
             f"@@ -1,{n} +0,0 @@\n{body}")
    return FileChange(path=path, status="deleted", patch=patch, hunks=(Hunk(1, n, 0, 0, "", lines),), deletions=n)


def test_a_deleted_file_is_pre_read_as_its_size_and_first_lines_and_kept_whole_on_disk(tmp_path):
    ws, prefix = prepare(change(file_change("src/app.py"), deleted_file()), Config(), tmp_path / "ws")
    [bundle] = [text for path, text in prefix.reads if path == PRELOADED_FILE]
    assert "# deleted file src/old.py: 40 line(s)" in bundle
    assert "old line 1 " in bundle and f"old line {DELETED_HEAD_LINES} " in bundle
    assert f"old line {DELETED_HEAD_LINES + 1} " not in bundle
    assert "35 more deleted line(s): read_file diff/002-src__old.py.patch" in bundle
    on_disk = (ws.root / "diff/002-src__old.py.patch").read_text()
    assert "old line 40 " in on_disk                                  # the whole body for read_file
    assert "+++ b/src/app.py" in bundle                               # other patches pre-read whole


def test_a_deleted_file_counts_its_summary_against_the_preload_budget(tmp_path):
    big = deleted_file(n=2000)
    ws, _ = prepare(change(big, file_change("src/app.py")), Config(preload_chars=2000), tmp_path / "ws")
    assert [pf.preloaded for pf in ws.plan.files] == [True, True]     # the 80 KB body would not have fit


def test_the_lean_prefix_has_nothing_avoidable_and_is_byte_identical(tmp_path):
    ch = change(*[file_change(f"src/m{i}.py") for i in range(8)], deleted_file())
    _, one = prepare(ch, Config(), tmp_path / "a")
    _, two = prepare(ch, Config(), tmp_path / "b")
    assert one.sha256() == two.sha256()
    waste = prefix_waste(one)
    assert waste.avoidable == 0 and waste.total > 0


def test_the_measure_finds_each_kind_of_waste(tmp_path):
    ch = change(*[file_change(f"src/m{i}.py") for i in range(4)], deleted_file())
    ws, lean = prepare(ch, Config(), tmp_path / "ws")
    routing = "\n## Routing\n" + "".join(f"- security: {pf.patch_file}\n" for pf in ws.plan.files)
    per_file = tuple((pf.patch_file, pf.patch_text) for pf in ws.plan.files)   # deleted body whole, 5 blocks
    old: Prefix = replace(lean, reads=((CONTEXT_FILE, ws.context_text + routing),) + per_file)
    waste = prefix_waste(old)
    assert waste.repeated == len(routing) - len("\n## Routing\n")
    assert waste.deleted == sum(len(f"-old line {i} " + "x" * 30) + 1 for i in range(DELETED_HEAD_LINES + 1, 41))
    assert waste.framing > 0 and waste.share > prefix_waste(lean).share
