"""Bad and unusual input: each case reviewed within bounds or refused with one clear line."""
import asyncio
import json
import subprocess

import pytest
from corpus import GIT_ENV
from helpers import change, file_change, model_finding, submit

from reviewbot.agents.requests import build_request
from reviewbot.change.gitsource import read_local_change
from reviewbot.cli import main
from reviewbot.config import Config
from reviewbot.domain.specialists import SPECIALISTS
from reviewbot.pipeline.review import prepare, run_review
from reviewbot.workspace.layout import build_plan

MAX_REQUEST_CHARS = 600_000          # ~200k tokens at 3 characters a token: the model's context window


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=GIT_ENV)


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "keep.py").write_text("x = 1\n")
    git(r, "add", ".")
    git(r, "commit", "-q", "-m", "base")
    git(r, "checkout", "-q", "-b", "feature")
    return r


def commit(repo, msg="change"):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)


def largest_request(tmp_path, ch, config: Config | None = None):
    ws, prefix = prepare(ch, config or Config(), tmp_path / "ws")
    sizes = [len(json.dumps(build_request(prefix, "x" * 2000, [], 100).body))]
    return ws, max(sizes)


def test_only_binary_files_need_no_model_call(repo, capsys, monkeypatch):
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    commit(repo)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")      # nothing listens: no call may be made
    code = main(["review", "--repo", str(repo), "--base", "main", "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["findings"] == [] and out["usage"]["totals"]["calls"] == 0
    assert all(s["status"] == "idle" for s in out["specialists"])


def test_only_deletions_are_reviewed_at_file_level(repo, tmp_path, scripted):
    (repo / "keep.py").unlink()
    commit(repo)
    ch = read_local_change(repo, "main", "feature")
    assert [f.status for f in ch.files] == ["deleted"]
    script = {"*": submit(model_finding(path="keep.py", line=1))}
    result = asyncio.run(run_review(ch, Config(), scripted(script), tmp_path / "ws"))
    assert result.findings and all(f.placement == "file" for f in result.findings)


def test_a_10mb_single_file_diff_is_truncated_with_a_note(repo, tmp_path):
    (repo / "huge.py").write_text("".join(f"value_{i} = {i}  # padding padding padding\n" for i in range(250_000)))
    commit(repo)
    ch = read_local_change(repo, "main", "feature")
    assert len(ch.files[0].patch) > 10_000_000
    ws, size = largest_request(tmp_path, ch)
    assert size < 100_000
    patch = (ws.root / ws.plan.files[0].patch_file).read_text()
    assert "[reviewbot] patch truncated at" in patch


def test_a_300_file_change_stays_within_the_context_window(tmp_path):
    files = [file_change(f"pkg/mod_{i:03d}.py", added=tuple(range(10, 200)), context=(8, 9)) for i in range(320)]
    ch = change(*files)
    ws, size = largest_request(tmp_path, ch)
    assert size < MAX_REQUEST_CHARS
    assert ws.plan.tier.name == "full" and ws.plan.over_limit == 20
    assert "20 reviewable file(s) were not assigned" in ws.context_text
    assert sum(len(pf.patch_text) for pf in ws.plan.files if pf.preloaded) <= Config().preload_chars


def test_a_huge_number_of_files_is_counted_not_listed(tmp_path):
    plan = build_plan(change(*[file_change(f"f{i}.py") for i in range(600)]), SPECIALISTS, 60_000, 240_000)
    ws, _ = largest_request(tmp_path, change(*[file_change(f"f{i}.py") for i in range(600)]))
    assert "| ... | | 100 more file(s) not listed" in ws.context_text and len(plan.files) == 600


def test_very_long_lines_and_non_utf8_content(repo, tmp_path):
    (repo / "min.js").write_text("var a=" + "1+" * 400_000 + "1;\n")
    (repo / "latin1.py").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    commit(repo)
    ch = read_local_change(repo, "main", "feature")
    ws, size = largest_request(tmp_path, ch)
    assert size < 200_000
    latin = next(pf for pf in ws.plan.files if pf.file.path == "latin1.py")
    assert "caf\ufffd" in latin.patch_text                # replaced, not crashed


def test_malformed_diff_is_one_line(capsys, tmp_path):
    from reviewbot.change.parse import parse_diff
    from reviewbot.errors import InputError
    with pytest.raises(InputError, match="^malformed diff") as e:
        parse_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n")
    assert "\n" not in str(e.value)
