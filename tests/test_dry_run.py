"""`reviewbot review --dry-run`: the request layout and the estimated cost, from count_tokens alone.

The cassette was recorded against cachesim, whose count_tokens counts exactly as its /v1/messages
bills, so the dry run's figures are checked against what the real review (the e2e cassette, same
config) was billed: the shared prefix is the first call's cache write, each delta its uncached input.
Re-record with:
    REVIEWBOT_RECORD=1 ANTHROPIC_BASE_URL=http://127.0.0.1:PORT python -m pytest tests/test_dry_run.py
"""
import json

import pytest
from cassette import CASSETTES, RECORDING, api_key, api_url, reset_cachesim
from cassette import cassette as cassette_for
from corpus import clone

from reviewbot.cli import main
from reviewbot.domain.change import ChangeMeta
from reviewbot.domain.specialists import NAMES
from reviewbot.llm.cassettes import make_vcr
from reviewbot.llm.usage import price_of
from reviewbot.pipeline.dryrun import CallTokens, DryRun, estimate, to_markdown

CASSETTE = "test_dry_run_unidiff-126.yaml"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key())
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api_url())
    reset_cachesim()
    path, _ = clone("unidiff-126", tmp_path)
    (tmp_path / "all.toml").write_text('routing = "all"\n')       # as the e2e run: all seven specialists
    return path


def _run(repo, capsys, *extra):
    args = ["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--config",
            str(repo.parent / "all.toml"), "--dry-run", *extra]
    with cassette_for(CASSETTE) as cassette:
        code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err, cassette


def test_dry_run_layout_and_estimate_from_count_tokens_only(repo, capsys):
    code, out, err, cassette = _run(repo, capsys, "--format", "json")
    assert code == 0
    plan = json.loads(out)
    # Nothing but count_tokens: every request of the cassette, and (replaying) every one was used.
    assert cassette.requests and all(r.path == "/v1/messages/count_tokens" for r in cassette.requests)
    if not RECORDING:
        assert cassette.play_count == len(plan["calls"]) + 1 == len(cassette.requests)
    assert [c["label"] for c in plan["calls"]] == list(NAMES) + ["summary"]
    prefix = plan["shared_prefix"]["tokens"]
    assert prefix >= 1024 and plan["shared_prefix"]["preloaded"][0] == "shared-mr-context.txt"
    for c in plan["calls"]:
        assert c["shared_prefix_tokens"] == prefix and c["total_tokens"] == prefix + c["delta_tokens"]
        assert 0 < c["delta_tokens"] < prefix / 5             # the per-agent part is small
    n, deltas = len(plan["calls"]), sum(c["delta_tokens"] for c in plan["calls"])
    est = plan["estimate"]
    cached = dict(est["with_caching"])
    assert cached.pop("cost_usd") > 0
    output = sum(c["output_tokens"] for c in plan["calls"])
    # Sonnet 5.5 thinks by default: each agent at the default effort policy's level (else the model's
    # default, high), its thinking estimate at that effort + a submission
    from reviewbot.config import Config
    from reviewbot.llm.models import THINKING_ESTIMATE
    for c in plan["calls"]:
        effort = Config().effort_for(c["label"].split("#")[0]) or "high"
        assert c["effort"] == effort and c["thinking_tokens"] == THINKING_ESTIMATE[effort]
        assert c["output_tokens"] == THINKING_ESTIMATE[effort] + 800
    assert {c["effort"] for c in plan["calls"]} >= {"medium", "low"}          # correctness at medium, others low
    assert cached == {"input_tokens": deltas, "cache_write_5m": prefix, "cache_read": prefix * (n - 1),
                      "output_tokens": output, "thinking_tokens": sum(c["thinking_tokens"] for c in plan["calls"])}
    assert est["without_caching"]["input_tokens"] == prefix * n + deltas
    p = price_of(plan["model"])
    expected = (deltas * p.input + prefix * p.write_5m + prefix * (n - 1) * p.read + output * p.output) / 1e6
    assert est["with_caching"]["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert 0 < est["with_caching"]["cost_usd"] < est["without_caching"]["cost_usd"]
    assert "counting the tokens" in err and out.startswith("{")           # progress on stderr only


def test_dry_run_matches_what_the_review_is_billed(repo, capsys):
    """The e2e review of the same change and config: its first call wrote exactly the dry run's
    shared prefix, and each specialist's first call paid exactly its delta as uncached input."""
    code, out, _, _ = _run(repo, capsys, "--format", "json")
    plan = json.loads(out)
    with make_vcr(CASSETTES, "none").use_cassette("test_e2e_review_unidiff-126.yaml"):   # never re-recorded here
        assert main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "json", "-q",
                     "--config", str(repo.parent / "all.toml")]) == 0
    calls = {c["label"]: c for c in json.loads(capsys.readouterr().out)["usage"]["calls"]}
    first = calls["security#1"]                                  # the leader writes the prefix
    assert first["cache_write_5m"] + first["cache_write_1h"] == plan["shared_prefix"]["tokens"]
    for c in plan["calls"]:
        if c["label"] != "summary":                              # its findings are unknown to the dry run
            assert calls[c["label"] + "#1"]["input_tokens"] == c["delta_tokens"]


def test_dry_run_markdown_report(repo, capsys):
    code, out, err, _ = _run(repo, capsys)
    assert code == 0
    assert out.startswith("# reviewbot dry run: ") and "| 1 | security |" in out and "## Estimated cost" in out
    assert "| with caching |" in out and "| without caching |" in out
    assert "the model table's thinking estimate at the call's effort" in out and out.rstrip().endswith("Nothing was sent to /v1/messages.")


def test_dry_run_refuses_sarif_and_needs_a_key(repo, capsys, monkeypatch):
    assert main(["review", "--repo", str(repo), "--dry-run", "--format", "sarif"]) == 2
    assert capsys.readouterr().err == "reviewbot: error: --dry-run prints markdown or json, not sarif\n"
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--dry-run"]) == 2
    assert capsys.readouterr().err == "reviewbot: error: ANTHROPIC_API_KEY is not set\n"


def _dry(warmup="leader", prefix=2000, deltas=(100, 200, 300), **kw) -> DryRun:
    meta = ChangeMeta(title="t", description="", author="a", base_ref="main", head_ref="f", base_sha="a" * 40,
                      head_sha="b" * 40, commits=(), repository="r")
    out = kw.get("out", 500)
    return DryRun(meta, 1, 1, 0, "claude-sonnet-4-6", warmup, kw.get("mode", "cached"), "5m", "0" * 64, prefix,
                  ("shared-mr-context.txt",), (), tuple(CallTokens(f"a{i}", prefix + d, prefix, None, out, 0)
                                                       for i, d in enumerate(deltas)), (),
                  kw.get("budget", 0.0), 1024)


def test_estimate_by_hand():
    e = estimate(_dry())
    assert e.calls == 3
    assert e.with_cache.astuple() == (600, 2000, 0, 4000, 1500, 0)  # input, writes 5m/1h, read, output, thinking
    assert e.without_cache.astuple() == (6600, 0, 0, 0, 1500, 0)
    # sonnet: $3 input, $3.75 write, $0.30 read, $15 output per MTok
    assert e.cost_with_cache == pytest.approx((600 * 3 + 2000 * 3.75 + 4000 * 0.3 + 1500 * 15) / 1e6)
    assert e.cost_without_cache == pytest.approx((6600 * 3 + 1500 * 15) / 1e6)
    assert e.saving == pytest.approx(1 - e.cost_with_cache / e.cost_without_cache)


def test_estimate_with_prewarm_adds_a_writing_call_and_everyone_reads():
    e = estimate(_dry("prewarm"))
    assert e.calls == 4 and e.with_cache.cache_write_5m == 2000 and e.with_cache.cache_read == 6000


def test_small_prefix_and_naive_mode_are_flagged():
    text = to_markdown(_dry(prefix=500, mode="naive"))
    assert "below claude-sonnet-4-6's minimum cacheable length (1,024)" in text and "mode naive" in text


def test_the_estimate_is_compared_with_the_budget():
    assert "fits" in to_markdown(_dry(budget=1.0))
    assert "is over it: the review would stop early" in to_markdown(_dry(budget=0.001))


def test_thinking_is_estimated_per_effort(tmp_path):
    """Mixed effort: the low-effort reviewers are estimated to think less than the high ones."""
    from helpers import change, file_change

    from reviewbot.config import Config
    from reviewbot.domain.change import ChangeMeta as _M  # noqa: F401 (the same meta as _dry)
    from reviewbot.pipeline.dryrun import make_dry_run, planned_calls
    from reviewbot.pipeline.review import prepare
    cfg = Config(routing="all", specialist_effort=(("documentation", "low"), ("security", "max")))
    ch = change(file_change("src/app.py"))
    ws, prefix = prepare(ch, cfg, tmp_path / "ws")
    calls = planned_calls(ws, prefix, cfg)
    d = make_dry_run(ch.meta, ws, prefix, cfg, 2000, [(c.label, 2500) for c in calls], 1, 1, 0,
                     [c.effort for c in calls])
    by = {c.label: c for c in d.calls}
    assert by["documentation"].effort == "low" and by["security"].effort == "max"
    assert by["correctness"].effort == "medium"                   # the effort policy's level
    assert by["documentation"].thinking < by["correctness"].thinking < by["security"].thinking
    assert estimate(d).with_cache.output_tokens == sum(c.output for c in d.calls)
