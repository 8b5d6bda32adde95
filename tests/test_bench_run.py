"""`reviewbot bench` as a command: its errors and exit codes, the corpus and cachesim edges, the chart,
and one whole run on a small corpus entry against a real cachesim subprocess."""
import json
import shutil
import socket
import sys
from pathlib import Path

import pytest
from corpus import DATA
from helpers import run_cli as _run
from test_bench import row

from reviewbot.bench import cachesim
from reviewbot.bench.chart import require_matplotlib, write_chart
from reviewbot.bench.runner import corpus_entries
from reviewbot.cli import main
from reviewbot.errors import APIError, ConfigError, InputError

SERVER = Path(__file__).resolve().parents[2] / "shared" / "cachesim" / "server.py"




def test_corpus_entries_sorted_named_and_checked(tmp_path):
    assert [e.name for e in corpus_entries(DATA)] == ["express-6522", "unidiff-126"]
    one = corpus_entries(DATA, ("unidiff-126",))
    assert len(one) == 1 and one[0].meta["files_changed"] == 8 and one[0].bundle.suffix == ".bundle"
    with pytest.raises(InputError, match="no corpus entry 'nope'"):
        corpus_entries(DATA, ("nope",))
    with pytest.raises(InputError, match="no NAME.bundle"):
        corpus_entries(tmp_path)
    with pytest.raises(InputError, match="not found"):
        corpus_entries(tmp_path / "absent")


@pytest.mark.parametrize("argv,code,message", [
    (["--corpus", "/nonexistent/corpus", "--cachesim", str(SERVER)], 3,
     "corpus directory not found: /nonexistent/corpus"),
    ([], 2, "give --corpus DIR and --cachesim PATH/server.py"),
    (["--repo", "."], 2, "--repo: give the ranges"),
    (["--repo", ".", "--corpus", "x", "HEAD"], 2, "--repo runs against the real API"),
    (["--api-url", "http://127.0.0.1:1", "--time-scale", "2"], 2, "--time-scale applies to the cachesim"),
    (["--time-scale", "0"], 2, "--time-scale must be positive"),
    (["--cachesim", "/nonexistent/server.py", "--corpus", str(DATA)], 2, "analyze.py not found in /nonexistent"),
])
def test_bad_input_is_one_line_and_an_exit_code(capsys, tmp_path, argv, code, message):
    got, out, err = _run(capsys, "bench", *argv, "--out", str(tmp_path / "o"))
    assert (got, out) == (code, "")
    assert err.startswith("reviewbot: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_unknown_warmup_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--warmup", "later"])
    assert e.value.code == 2


def test_cachesim_that_does_not_start_is_an_api_error(tmp_path):
    server = tmp_path / "server.py"
    server.write_text("import sys\nsys.exit('port already taken')\n")
    with pytest.raises(APIError, match="cachesim did not start: port already taken"):
        with cachesim.started(server):
            pass


def test_unreachable_cachesim_is_an_api_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                  # closed again when the block ends: nobody listens
    with pytest.raises(APIError, match=f"cannot reach cachesim at http://127.0.0.1:{port}"):
        cachesim.Cachesim(f"http://127.0.0.1:{port}", timeout=2).ledger()


def test_missing_matplotlib_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError, match=r"pip install 'reviewbot\[bench\]'"):
        require_matplotlib()


def test_chart_is_a_png(tmp_path):
    path = tmp_path / "bench.png"
    write_chart([row("a", read=9000, write=500, inp=100), row("b")], path, "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not SERVER.is_file(), reason=f"cachesim is not at {SERVER} (a clone without ../shared)")
def test_bench_one_entry_against_cachesim(capsys, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for suffix in (".bundle", ".json"):                 # a corpus of one: the default runs every entry
        shutil.copy(DATA / f"express-6522{suffix}", corpus)
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "bench", "--corpus", str(corpus), "--cachesim", str(SERVER),
                             "--out", str(out), "--warmup", "prewarm", "--reset-between", "--naive",
                             "--time-scale", "0.02")
    assert code == 0, err
    doc = json.loads((out / "bench.json").read_text())
    assert doc["settings"]["warmup"] == "prewarm" and doc["settings"]["naive_mode_compared"] is True
    assert doc["settings"]["reset_between"] is True and doc["settings"]["time_scale"] == 0.02
    assert doc["settings"]["latency"] == {"ttft_base": 0.8, "prefill_tps": 10000.0, "output_tps": 60.0}
    [r] = doc["rows"]
    assert r["entry"] == "express-6522" and (r["files"], r["additions"], r["deletions"]) == (3, 8, 0)
    assert r["prewarm"] == 1 and r["calls"] >= 3 and r["errors"] == 0 and r["races"] == 0
    assert r["read_tokens"] > r["write_tokens"] > 0                     # one write of the prefix, read back
    assert 1.0 <= r["cost_over_oracle"] < 1.2                           # the pre-warm's read is overhead
    assert r["cost_over_naive"] < 0.6 and r["vs_naive_bot"] < 0.5
    assert 0 < r["critical"] <= r["wall"] and r["targets"] is not None
    assert [a["name"] for a in r["agents"] if a["status"] == "ok"] and doc["totals"]["calls"] == r["calls"]
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "bench.md").read_text() == stdout                     # the table on stdout is bench.md
    assert "| express-6522 " in stdout and "Routing" in stdout
    assert "[1/1] express-6522" in err and "[naive 1/1] express-6522" in err
    # the batch pass: the same PR in batch mode, after a cache reset, found in the ledger by custom_id
    assert doc["settings"]["batch_mode_compared"] is True and doc["settings"]["batch_ttl"] == "5m"
    assert r["batch_calls"] >= 2 and 0 < r["batch_usd"] < r["cost_usd"] and r["batch_over_interactive"] < 1
    assert "[batch] 1 PR(s)" in err and "batch/int" in stdout
    # the uniform-effort pass: the same PR with every agent at the default effort (high): more thinking
    assert doc["settings"]["uniform_effort_compared"] is True and "[uniform effort] 1 PR(s)" in err
    assert r["uniform_thinking_tokens"] > r["thinking_tokens"] and r["uniform_usd"] > r["cost_usd"]
    assert r["effort_ratio"] == round(r["cost_usd"] / r["uniform_usd"], 4)
    assert set(r["targets"]["checked"]) == {"cost/oracle", "races", "avoidable", "effort", "summary", "wall/crit",
                                            "batch/int"}
    assert "the bench took" in err and "### Targets" in stdout


@pytest.mark.skipif(not SERVER.is_file(), reason=f"cachesim's analyze.py is not beside {SERVER}")
def test_unreachable_api_url_names_the_entry_and_exits_4(capsys, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = _run(capsys, "bench", "unidiff-126", "--corpus", str(DATA), "--cachesim", str(SERVER),
                          "--api-url", f"http://127.0.0.1:{port}", "--out", str(tmp_path / "o"), "-q")
    assert (code, out) == (4, "")
    assert err.startswith(f"reviewbot: error: unidiff-126: cannot reach cachesim at http://127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_bad_bundle_is_an_input_error_naming_the_entry(capsys, tmp_path):
    if not SERVER.is_file():
        pytest.skip(f"cachesim's analyze.py is not beside {SERVER}")
    (tmp_path / "broken.bundle").write_bytes(b"not a bundle")
    code, out, err = _run(capsys, "bench", "--corpus", str(tmp_path), "--cachesim", str(SERVER),
                          "--api-url", "http://127.0.0.1:9", "--out", str(tmp_path / "o"), "-q")
    assert (code, out) == (3, "")
    assert err.startswith("reviewbot: error: broken: cannot clone ") and err.count("\n") == 1


@pytest.mark.skipif(not SERVER.is_file(), reason=f"cachesim is not at {SERVER}")
def test_bench_on_your_own_ranges_against_the_api(capsys, tmp_path, monkeypatch):
    """--repo: a user's ranges, no corpus and no cachesim option; here the "real API" is a cachesim
    reached through ANTHROPIC_BASE_URL, as a user's proxy would be."""
    from corpus import clone
    repo, meta = clone("express-6522", tmp_path)
    out = tmp_path / "out"
    with cachesim.started(SERVER) as url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        code, stdout, err = _run(capsys, "bench", "--repo", str(repo), "base..pr", "--batch", "--uniform",
                                 "--out", str(out))
    assert code == 0, err
    doc = json.loads((out / "bench.json").read_text())
    assert doc["settings"]["cachesim"] == "the real API" and doc["settings"]["batch_mode_compared"] is True
    [r] = doc["rows"]
    assert r["entry"] == "base..pr" and r["files"] == meta["files_changed"]
    assert r["oracle"] is None and r["cost_over_oracle"] is None and "n/a" in stdout
    assert r["cost_usd"] == pytest.approx(r["input_usd"] + r["output_usd"]) and r["thinking_tokens"] > 0
    assert r["batch_usd"] > 0 and r["batch_calls"] >= 2 and r["prefix_tokens"] > 1000
    assert 0 < r["critical"] <= r["wall"] and r["summary_share"] is not None
    assert "cost/oracle" not in (r["targets"] or {}).get("missed", [])
    assert err.index("[batch] 1 range(s)") < err.index("[1/1] base..pr") < err.index("[uniform 1/1] base..pr")
    assert doc["settings"]["uniform_effort_compared"] is True and r["uniform_usd"] > r["cost_usd"]


@pytest.mark.skipif(not SERVER.is_file(), reason=f"cachesim is not at {SERVER}")
def test_bench_with_api_url_runs_every_pass_on_that_cachesim_reset_before_each(capsys, tmp_path):
    out = tmp_path / "out"
    with cachesim.started(SERVER) as url:
        code, stdout, err = _run(capsys, "bench", "express-6522", "--corpus", str(DATA), "--cachesim", str(SERVER),
                                 "--api-url", url, "--no-batch", "--out", str(out))
        ledger = cachesim.Cachesim(url).ledger()
    assert code == 0, err
    doc = json.loads((out / "bench.json").read_text())
    assert doc["settings"]["cachesim"] == "external" and doc["settings"]["latency"] is None
    assert doc["settings"]["uniform_effort_compared"] is True and doc["settings"]["batch_mode_compared"] is False
    [r] = doc["rows"]
    assert r["cost_over_oracle"] == pytest.approx(1.0, abs=0.01) and r["races"] == 0
    assert r["uniform_usd"] > r["cost_usd"] and r["targets"]["checked"]["effort"]["value"] == r["effort_ratio"]
    assert "batch/int" not in r["targets"]["checked"]
    # the reset before the uniform pass: the ledger holds that pass alone (as many calls: effort adds none)
    assert len(ledger) == r["calls"] + r["errors"]
    assert "comparison passes on cachesim at " + url + " (reset before each pass)" in err
