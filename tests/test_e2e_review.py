"""End to end: `reviewbot review` on corpus PRs, Anthropic calls replayed from cassettes.

The cassettes were recorded against cachesim (see tests/cassette.py for the re-record command).
Matching on the exact request body means a prompt or layout that stops being deterministic fails
here, before it costs anyone a cache miss.
"""
import json

import pytest
from cassette import api_key, api_url, cassette, reset_cachesim
from corpus import clone

from reviewbot.cli import main
from reviewbot.domain.specialists import NAMES


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key())
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api_url())
    reset_cachesim()


def _review(tmp_path, capsys, name, *extra):
    repo, meta = clone(name, tmp_path)
    out_dir = tmp_path / "rb-out"
    with cassette(f"test_e2e_review_{name}.yaml"):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "json",
                     "--keep-workspace", str(out_dir), *extra])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err, out_dir, meta


def _assert_one_shared_write(usage):
    calls = usage["calls"]
    first, rest = calls[0], calls[1:]
    assert first["cache_write_5m"] >= 1024 and first["cache_read"] == 0
    shared = min(c["cache_read"] for c in rest)
    assert shared >= 1024                                    # every other call reads the shared prefix
    for c in rest:                                           # and writes at most its own delta
        assert c["cache_write_5m"] + c["cache_write_1h"] < shared / 2
        assert c["input_tokens"] < shared / 2


def all_seven(tmp_path):
    """A config that turns tiered routing off (unidiff-126 is a medium change: 4 specialists by default)."""
    path = tmp_path / "all.toml"
    path.write_text('routing = "all"\n')
    return path


def test_review_unidiff_126_all_seven_specialists(tmp_path, capsys, env):
    code, review, err, out_dir, meta = _review(tmp_path, capsys, "unidiff-126", "--config", str(all_seven(tmp_path)))
    assert code == 0
    assert review["schema_version"] == 1 and review["complete"] is True
    assert review["change"]["files_changed"] == meta["files_changed"]
    assert [s["name"] for s in review["specialists"]] == list(NAMES)
    assert all(s["status"] == "ok" and s["findings"] >= 1 for s in review["specialists"])
    assert review["summary"]["status"] == "ok" and review["verdict"]
    assert review["findings"]
    _assert_one_shared_write(review["usage"])
    assert review["cache"]["within_ttl"] is True and len(review["cache"]["prefix_sha256"]) == 64
    totals = review["usage"]["totals"]
    # Thinking is output, billed the same with or without caching, so the saving is on the input side.
    assert totals["hit_rate"] > 0.75 and totals["cost_usd"] < totals["no_cache_cost_usd"] * 0.75
    assert totals["thinking_tokens"] > 0
    # --keep-workspace keeps the workspace, usage and each specialist's raw findings
    assert (out_dir / "shared-mr-context.txt").is_file() and len(list((out_dir / "diff").iterdir())) == 8
    assert json.loads((out_dir / "usage.json").read_text()) == review["usage"]
    assert sorted(p.stem for p in (out_dir / "findings").iterdir()) == sorted(NAMES)
    assert "usage:" in err and "cache hit rate" in err


def test_review_express_6522_routes_by_file_kind(tmp_path, capsys, env):
    code, review, err, out_dir, meta = _review(tmp_path, capsys, "express-6522")
    assert code == 0 and review["complete"]
    status = {s["name"]: s["status"] for s in review["specialists"]}
    assert status["security"] == "ok" and status["release"] == "ok" and status["rules"] == "ok"
    assert status["performance"] == "idle"                # only CI files changed: nothing for it
    assert "Not running (no file of their kinds)" in (out_dir / "shared-mr-context.txt").read_text()
    _assert_one_shared_write(review["usage"])
    for f in review["findings"]:                           # placement is checked against the diff
        if f["placement"] == "inline":
            assert f["path"].startswith(".github/workflows/")
