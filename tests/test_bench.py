"""The benchmark's pure parts on hand-made ledger entries and call records: rows, critical path,
totals, target checks, the table and the JSON."""
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from reviewbot.bench.metrics import (
    Row,
    Targets,
    checks,
    cost_split,
    critical_path,
    entries_after,
    failures,
    last_n,
    make_row,
    marginal_oracle,
    totals,
    with_naive_bot,
)
from reviewbot.bench.report import render_markdown, to_json, verdict
from reviewbot.bench.runner import naive_config
from reviewbot.config import Config
from reviewbot.llm.usage import CallRecord, Usage

MODEL = "claude-sonnet-4-6"
ANALYZE_DIR = Path(__file__).resolve().parents[2] / "shared" / "cachesim"


def entry(n, inp=0, w5=0, w1=0, read=0, out=10, max_tokens=100, status=200, race=False, hashes=(), tokens=()):
    return {"n": n, "status": status, "model": MODEL, "max_tokens": max_tokens, "arrival": float(n),
            "total_tokens": inp + w5 + w1 + read, "race": race, "min_cacheable": 1024,
            "block_hashes": list(hashes), "block_tokens": list(tokens),
            "usage": {"input_tokens": inp, "cache_creation_input_tokens": w5 + w1, "cache_read_input_tokens": read,
                      "cache_creation": {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1},
                      "output_tokens": 0 if max_tokens == 0 else out}}


def call(label, started, first_byte, ended):
    return CallRecord(label, MODEL, Usage(), started, first_byte, ended)


def summary(requests=3, prewarm=0, errors=None, inp=150, write=1200, read=2400, out=30, actual=1890.0,
            oracle=1890.0, naive=3750.0, races=0):
    """The keys of cachesim analyze.summarize() that a row uses."""
    return {"requests": requests, "prewarm": prewarm, "errors": errors or {}, "input_tokens": inp,
            "cache_creation_input_tokens": write, "cache_read_input_tokens": read, "output_tokens": out,
            "actual": actual, "oracle": oracle, "naive": naive, "races": races}


def row(name="pr", files=5, **kw):
    s = summary(**{k: kw.pop(k) for k in list(kw) if k in summary.__code__.co_varnames})
    wall, critical = kw.pop("wall", 1.0), kw.pop("critical", 1.0)
    r = make_row(name, files, 10, 2, [], s, [call("a#1", 0, 0, critical)], wall, **kw)
    return r


# ---------------------------------------------------------------------------------- critical path

def test_critical_path_leader_counts_the_warm_up_once():
    calls = [call("security#1", 0.0, 0.4, 1.0),        # the leader: its TTFT is the warm-up
             call("correctness#1", 0.45, 0.5, 1.2), call("correctness#2", 1.3, 1.35, 1.6),
             call("summary#1", 2.0, 2.1, 2.5)]
    # warm-up 0.4 + slowest specialist (correctness 0.75 + 0.3; the leader's 1.0 - 0.4 = 0.6) + summary 0.5
    assert critical_path(calls) == pytest.approx(0.4 + 1.05 + 0.5)


def test_critical_path_when_the_leader_is_the_slowest():
    calls = [call("security#1", 0.0, 0.4, 3.0), call("correctness#1", 0.45, 0.5, 1.0),
             call("summary#1", 3.1, 3.2, 3.5)]
    assert critical_path(calls) == pytest.approx(3.0 + 0.4)          # leader's whole call + summary


def test_critical_path_prewarm_is_serial_and_keep_warm_is_off_the_path():
    calls = [call("prewarm", 0.0, 0.3, 0.3), call("security#1", 0.31, 0.4, 1.0), call("rules#1", 0.31, 0.4, 0.8),
             call("keep-warm", 0.9, 1.5, 1.5), call("summary#1", 1.1, 1.2, 1.4), call("summary#2", 1.5, 1.6, 1.7)]
    assert critical_path(calls) == pytest.approx(0.3 + 0.69 + 0.3 + 0.2)
    assert critical_path([]) == 0.0


# ---------------------------------------------------------------------------------- ledger slices

def test_entries_after_a_number_are_the_review_slice():
    ledger = [entry(1), entry(2), entry(3), entry(4)]
    assert last_n(ledger[:2]) == 2 and last_n([]) == 0
    assert [e["n"] for e in entries_after(ledger, 2)] == [3, 4]


def test_cost_split_in_dollars_and_no_cache_baseline_leaves_out_prewarm_and_failures():
    entries = [entry(1, w5=1000, max_tokens=0), entry(2, inp=100, read=1000, out=20),
               entry(3, inp=50, w1=200, out=10), entry(4, inp=10_000, status=429)]
    split, no_cache = cost_split(entries)
    assert split.uncached == pytest.approx(150 * 3 / 1e6)
    assert split.write == pytest.approx((1000 * 3.75 + 200 * 6) / 1e6)
    assert split.read == pytest.approx(1000 * 0.3 / 1e6)
    assert split.output == pytest.approx(30 * 15 / 1e6)
    assert split.total == pytest.approx(split.uncached + split.write + split.read + split.output)
    assert no_cache == pytest.approx(((1100 + 250) * 3 + 30 * 15) / 1e6)


# ---------------------------------------------------------------------------------- rows and targets

def test_row_ratios_from_the_summary_and_the_clock():
    r = make_row("x", 4, 30, 5, [entry(1, inp=10, out=5)], summary(errors={"429": 2}), [call("a#1", 0, 0.5, 2.0)],
                 2.5, [("security", "ok"), ("performance", "idle"), ("rules", "failed")], complete=False)
    assert (r.calls, r.errors, r.races) == (3, 2, 0)
    assert r.hit_rate == pytest.approx(2400 / 3750)
    assert r.cost_over_oracle == pytest.approx(1.0) and r.cost_over_naive == pytest.approx(1890 / 3750)
    assert r.wall_over_critical == pytest.approx(2.5 / 2.0)
    assert r.ran() == ("security", "rules") and r.vs_naive_bot is None and not r.complete
    assert r.split.output == pytest.approx(5 * 15 / 1e6)
    n = with_naive_bot(r, [entry(7, inp=20_000, out=100)], summary(actual=18_900.0))
    assert n.vs_naive_bot == pytest.approx(0.1) and n.naive_bot_usd == pytest.approx((60_000 + 1500) / 1e6)


def test_targets_every_pr_ones_and_sized_ones_name_what_is_missed():
    good = row(actual=1000.0, oracle=1000.0, wall=1.02, prefix_chars=1000, avoidable_chars=10)
    assert failures(good) == ()
    assert [c.name for c in checks(good)] == ["cost/oracle", "races", "avoidable", "summary", "wall/crit"]
    small = row(files=2, actual=1100.0, oracle=1000.0, wall=3.0, prefix_chars=1000, avoidable_chars=10)
    assert failures(small) == ("cost/oracle",)          # on every PR; wall/crit only from three files
    assert [c.name for c in checks(small)] == ["cost/oracle", "races", "avoidable"]
    assert failures(small, whole_run=True) == ("cost/oracle", "wall/crit")    # the totals: every target
    bad = row(actual=1011.0, oracle=1000.0, races=1, wall=1.06, prefix_chars=1000, avoidable_chars=51)
    assert failures(bad) == ("cost/oracle", "races", "avoidable", "wall/crit")
    assert failures(row(actual=0.0, oracle=0.0, wall=1.0)) == ("cost/oracle", "avoidable")   # no denominator: a miss
    loose = Targets(min_files=1, max_wall_over_critical=1.2, max_cost_over_oracle=1.02)
    assert failures(bad, loose) == ("races", "avoidable")
    assert verdict(good, Targets()) == "PASS" and verdict(bad, Targets()).startswith("FAIL: cost/oracle, races")


def test_the_limits_are_the_issues():
    t = Targets()
    assert (t.max_cost_over_oracle, t.max_races, t.max_avoidable_share, t.max_effort_ratio, t.max_summary_share,
            t.max_wall_over_critical, t.max_batch_over_interactive, t.min_files) == (
        1.01, 0, 0.05, 0.60, 0.25, 1.05, 0.55, 3)


def test_effort_summary_and_batch_targets_are_checked_when_measured():
    from reviewbot.bench.metrics import CostSplit
    base = replace(row(actual=1000.0, oracle=1000.0, wall=1.0, prefix_chars=100), split=CostSplit(output=0.6),
                   summary_seconds=0.25)
    assert "effort" not in [c.name for c in checks(base)] and "batch/int" not in [c.name for c in checks(base)]
    at = replace(base, uniform_usd=1.0, batch_usd=0.33)
    assert at.effort_ratio == pytest.approx(0.6) and at.batch_over_interactive == pytest.approx(0.55)
    assert at.summary_share == pytest.approx(0.25) and failures(at) == ()          # at the limit: a pass
    over = replace(at, uniform_usd=0.99, batch_usd=0.34, summary_seconds=0.26)
    assert failures(over) == ("effort", "summary", "batch/int")
    got = {c.name: c for c in checks(over)}
    assert got["effort"].value == pytest.approx(0.6 / 0.99) and got["effort"].limit == 0.6 and not got["effort"].ok
    api = replace(at, oracle=None, races=3)                                      # the real API: no oracle
    assert "cost/oracle" not in [c.name for c in checks(api)] and failures(api) == ()


def test_uniform_effort_row_from_its_ledger_and_from_call_records():
    from reviewbot.bench.metrics import with_uniform, with_uniform_calls
    from reviewbot.llm.usage import Usage
    r = row(actual=1000.0, oracle=1000.0)
    e = dict(entry(9, inp=1000, out=3000), thinking={"mode": "adaptive", "tokens": 2500})
    u = with_uniform(r, [e, dict(entry(10, inp=50, status=429), thinking={"tokens": 99})])
    assert u.uniform_usd == pytest.approx((1000 * 3 + 3000 * 15) / 1e6) and u.uniform_thinking_tokens == 2500
    assert u.uniform_output_usd == pytest.approx(3000 * 15 / 1e6)
    assert u.effort_ratio == pytest.approx(r.split.total / u.uniform_usd)
    c = with_uniform_calls(r, [replace(call("security#1", 0, 0, 1), usage=Usage(1000, 0, 0, 0, 3000, 2500))])
    assert c.uniform_usd == pytest.approx(u.uniform_usd) and c.uniform_thinking_tokens == 2500
    assert totals([u, u]).effort_ratio == pytest.approx(u.effort_ratio)
    assert totals([u, r]).uniform_usd is None and totals([u, r]).effort_ratio is None   # not every row has it


def test_avoidable_tokens_scale_the_character_share_to_the_prefix_tokens():
    r = replace(row(), prefix_chars=4000, avoidable_chars=200, prefix_tokens=1000)
    assert r.avoidable_share == pytest.approx(0.05) and r.avoidable_tokens == 50


def test_uniform_config_drops_every_effort_setting():
    from reviewbot.bench.runner import uniform_config
    c = Config(effort="low", specialist_effort=(("rules", "low"),), summary_effort="low")
    u = uniform_config(c)
    assert (u.effort, u.specialist_effort, u.summary_effort, u.effort_policy) == (None, (), None, False)
    assert u.effort_for("rules") is None and u.effort_for("summary") is None
    assert uniform_config(u) == u


def test_totals_are_ratios_of_sums():
    a = row("a", read=900, write=100, inp=0, actual=210.0, oracle=200.0, naive=1000.0, wall=2.0, critical=1.0)
    b = row("b", read=100, write=0, inp=900, actual=910.0, oracle=910.0, naive=1000.0, wall=1.0, critical=1.0)
    t = totals([a, b])
    assert t.entry == "total" and t.files == 10 and t.calls == 6
    assert t.hit_rate == pytest.approx(1000 / 2000)
    assert t.cost_over_oracle == pytest.approx(1120 / 1110) and t.wall_over_critical == pytest.approx(1.5)
    assert t.naive_bot is None                                          # not every row has it
    both = totals([replace_naive(a, 1000.0), replace_naive(b, 3000.0)])
    assert both.vs_naive_bot == pytest.approx(1120 / 4000)


def replace_naive(r: Row, cost: float) -> Row:
    from dataclasses import replace
    return replace(r, naive_bot=cost, naive_bot_usd=cost * 3e-6)


# ---------------------------------------------------------------------------------- outputs

def _table_rows(md: str, heading: str) -> tuple[list[str], dict[str, list[str]]]:
    block = md.split(f"### {heading}\n")[1].lstrip("\n").split("\n\n")[0]
    lines = block.splitlines()
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("| ")]
    assert len({len(line) for line in lines}) == 1                                  # aligned columns
    return cells[0], {r[0]: r for r in cells[1:]}


def test_markdown_has_cost_time_and_targets_tables_with_totals_and_routing():
    from reviewbot.bench.metrics import CostSplit
    a = replace(row("big-pr", files=12, read=9000, write=500, inp=100, actual=1000.0, oracle=1000.0,
                    agents=[("security", "ok"), ("performance", "idle")], prefix_chars=100),
                split=CostSplit(uncached=0.1, output=0.2), uniform_usd=0.6, batch_usd=0.15, summary_seconds=0.1)
    b = replace(row("tiny-pr", files=1, actual=1000.0, oracle=1000.0, agents=[("security", "ok")], wall=5.0,
                    prefix_chars=100), uniform_usd=1.0, batch_usd=0.5)
    c = replace(row("slow-pr", files=3, actual=1000.0, oracle=1000.0, wall=2.0, prefix_chars=100),
                split=CostSplit(output=0.1), uniform_usd=1.0, batch_usd=0.05)
    md = render_markdown([a, b, c], title="run")
    assert md.splitlines()[0] == "## run"
    header, body = _table_rows(md, "Cost per review")
    assert header == ["PR", "files", "+/-", "calls", "in $", "out $", "cost $", "thinking", "uniform $", "effort",
                      "batch $", "batch/int", "cost/oracle", "races", "hit rate"]
    assert body["big-pr"][4:12] == ["0.1000", "0.2000", "0.3000", "0", "0.6000", "0.500", "0.1500", "0.500"]
    assert set(body) == {"big-pr", "tiny-pr", "slow-pr", "total"}
    header, body = _table_rows(md, "Time and the shared prefix")
    assert header == ["PR", "wall s", "crit s", "wall/crit", "summary s", "summary", "prefix tok", "avoidable tok",
                      "avoidable", "related", "reads", "searches", "ran"]
    assert body["slow-pr"][1:4] == ["2.0", "1.0", "2.000"] and body["big-pr"][5] == "10.0%"
    header, body = _table_rows(md, "Targets")
    assert header == ["PR", "cost/oracle <= 1.01", "races <= 0", "avoidable <= 5%", "effort <= 0.60",
                      "summary <= 25%", "wall/crit <= 1.05", "batch/int <= 0.55", "verdict"]
    assert body["big-pr"][1:] == ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "PASS"]
    assert body["tiny-pr"][1:] == ["ok", "ok", "ok", "-", "-", "-", "-", "PASS"]     # under three files
    assert body["slow-pr"][-1] == "FAIL: wall/crit" and body["slow-pr"][6] == "MISS"
    assert body["total"][-1].startswith("FAIL: ")                        # the sums: every target, tiny-pr's too
    assert "2 of 3 PRs meet every target" in md
    assert "vs naive bot" not in md                                      # the naive pass did not run
    naive = render_markdown([replace_naive(a, 4000.0)])
    assert _table_rows(naive, "Cost per review")[0][-1] == "vs naive bot"
    assert "| big-pr " in md.split("Routing")[1] and "performance (idle)" in md


def test_json_has_settings_targets_rows_and_totals():
    a = replace(row("a", files=4, agents=[("security", "ok")], actual=1000.0, oracle=1000.0, prefix_chars=100),
                uniform_usd=1.0)
    doc = to_json([a, row("b", files=1)], Targets(), {"warmup": "leader"})
    assert doc["schema_version"] == 2 and doc["settings"] == {"warmup": "leader"}
    assert doc["targets"]["max_effort_ratio"] == 0.6 and "min_hit_rate" not in doc["targets"]
    first = doc["rows"][0]
    assert first["entry"] == "a" and first["agents"] == [{"name": "security", "status": "ok"}]
    assert first["hit_rate"] == round(2400 / 3750, 4) and first["targets"]["pass"] is True
    assert first["targets"]["checked"]["effort"] == {"value": round(a.effort_ratio, 4), "limit": 0.6, "ok": True}
    assert first["uniform_usd"] == 1.0 and first["effort_ratio"] == round(a.effort_ratio, 4)
    assert doc["rows"][1]["targets"]["missed"] == ["avoidable"]                 # no prefix measured: a miss
    assert set(first["split"]) == {"uncached", "write", "read", "output"}
    assert doc["totals"]["entry"] == "total" and "wall/crit" in doc["totals"]["targets"]["checked"]


# ---------------------------------------------------------------------------------- naive mode

def test_naive_config_switches_mode_and_tells_when_config_has_none():
    assert naive_config(Config(warmup="prewarm")) == Config(warmup="prewarm", mode="naive")

    @dataclass(frozen=True)
    class OldConfig:
        model: str = MODEL

    assert naive_config(OldConfig()) is None


# ---------------------------------------------------------------------------------- with cachesim's analyze.py

@pytest.fixture(scope="module")
def analyze():
    if not (ANALYZE_DIR / "analyze.py").is_file():
        pytest.skip(f"cachesim's analyze.py is not at {ANALYZE_DIR} (a clone without ../shared)")
    from reviewbot.bench.cachesim import load_analyze
    return load_analyze(ANALYZE_DIR)


def _fan_out(n0, prewarm):
    """One shared prefix (blocks a, b: 1200 tokens) and three calls with a delta of 50 tokens each."""
    shared = dict(hashes=("a", "ab"), tokens=(600, 600))
    out = [entry(n0, w5=1200, max_tokens=0, **shared)] if prewarm else []
    for i in range(3):
        first = not prewarm and i == 0
        out.append(entry(n0 + len(out), inp=50, w5=1200 if first else 0, read=0 if first else 1200,
                         hashes=("a", "ab", f"ab{i}"), tokens=(600, 600, 50)))
    return out


def test_rows_computed_with_analyze_leader_meets_the_oracle(analyze):
    entries = _fan_out(1, prewarm=False)
    r = make_row("leader", 3, 1, 1, entries, analyze.summarize(entries), [call("a#1", 0, 0.1, 0.2)], 0.2)
    assert r.actual == pytest.approx(1200 * 1.25 + 50 + 2 * (120 + 50))
    assert r.cost_over_oracle == pytest.approx(1.0)
    assert r.hit_rate == pytest.approx(2400 / 3750)          # N calls, one write: at most (N-1)/N of the prefix


def test_rows_computed_with_analyze_prewarm_pays_one_extra_read(analyze):
    entries = _fan_out(1, prewarm=True)
    r = make_row("prewarm", 3, 1, 1, entries, analyze.summarize(entries), [call("prewarm", 0, 0.1, 0.1)], 0.2)
    assert r.calls == 4 and r.prewarm == 1
    assert r.cost_over_oracle == pytest.approx((1500 + 3 * 170) / (1550 + 2 * 170))
    assert r.split.total == pytest.approx((1200 * 3.75 + 3 * (1200 * 0.3 + 50 * 3) + 30 * 15) / 1e6)


def test_marginal_oracle_subtracts_the_bound_of_what_came_before():
    def bound(reqs):
        return 10.0 * len(reqs) - (5.0 if len(reqs) > 2 else 0.0)     # sharing pays from 3 requests
    assert marginal_oracle(bound, [], [entry(1), entry(2)]) == 20.0
    assert marginal_oracle(bound, [entry(1), entry(2)], [entry(3)]) == 5.0


def test_marginal_oracle_credits_a_prefix_cached_by_the_previous_pr(analyze):
    def pr(n0, tag):             # the first block (tools + system, 1100 tokens) is the same in every PR
        return [entry(n0 + i, inp=50, hashes=("t", f"t{tag}", f"t{tag}{i}"), tokens=(1100, 600, 50))
                for i in range(3)]
    first, second = pr(1, "x"), pr(4, "y")
    alone = analyze.oracle_cost(second)
    marginal = marginal_oracle(analyze.oracle_cost, first, second)
    assert marginal < alone                                    # the 1100 shared tokens are a read, not a write
    assert marginal_oracle(analyze.oracle_cost, [], first) + marginal == pytest.approx(
        analyze.oracle_cost(first + second))                   # the marginals add up to the whole run's bound
    r = make_row("second", 3, 1, 1, second, analyze.summarize(second), [], 0.0, oracle=marginal)
    assert r.oracle == marginal and r.oracle_alone == pytest.approx(alone, abs=0.01)


def test_rows_report_the_prefix_growth_and_the_reviewers_own_reads_and_searches():
    from reviewbot.bench.metrics import make_row, prefix_tokens
    first = {"status": 200, "max_tokens": 8192, "model": "claude-sonnet-4-6",
             "usage": {"input_tokens": 10, "cache_creation_input_tokens": 2910, "cache_read_input_tokens": 0,
                       "output_tokens": 5}, "block_tokens": [100, 2000, 10, 50, 50, 700, 300],
             "breakpoints": [{"pos": 1, "prefix_tokens": 2100}, {"pos": 5, "prefix_tokens": 2910}]}
    prewarm = {**first, "max_tokens": 0, "breakpoints": [{"pos": 5, "prefix_tokens": 1}]}
    assert prefix_tokens([prewarm, first], related=True) == (2910, 700)
    assert prefix_tokens([first], related=False) == (2910, 0)
    r = make_row("pr", 3, 1, 1, [first], summary(), [call("a#1", 0, 0, 1)], 1.0, related_tokens=690,
                 tool_calls=[("security", "read_file", 2), ("security", "search_code", 1), ("rules", "read_file", 1)])
    assert (r.prefix_tokens, r.related_tokens, r.reads, r.searches) == (2910, 700, 3, 1)
    assert r.prefix_growth == pytest.approx(700 / 2210)
    _, body = _table_rows(render_markdown([r]), "Time and the shared prefix")
    assert body["pr"][6:12] == ["2910", "0", "n/a", "700 (+32%)", "3", "1"]


def test_rows_report_dollars_apart_thinking_the_summary_share_and_the_avoidable_prefix():
    from reviewbot.llm.usage import Usage
    entry = {"n": 1, "status": 200, "model": "claude-sonnet-5-5", "max_tokens": 100,
             "usage": {"input_tokens": 1000, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                       "output_tokens": 2000}}
    calls = [replace(call("security#1", 0, 0, 6), usage=Usage(1000, 0, 0, 2000, 0, 1500)),
             replace(call("summary#1", 6, 6, 8), usage=Usage(10, 0, 0, 100, 0, 60)),
             replace(call("summary#2", 8, 8, 10), usage=Usage(10, 0, 0, 100, 0, 40))]
    r = make_row("pr", 3, 1, 1, [entry], summary(), calls, 10.0, prefix_chars=2000, avoidable_chars=50)
    assert r.thinking_tokens == 1600 and r.summary_seconds == 4 and r.summary_share == pytest.approx(0.4)
    assert r.avoidable_share == pytest.approx(0.025)
    assert r.split.output == pytest.approx(2000 * 10 / 1e6) and r.split.uncached == pytest.approx(1000 * 2 / 1e6)
    d = to_json([r])["rows"][0]
    assert d["output_usd"] == pytest.approx(0.02) and d["input_usd"] == pytest.approx(0.002)
    assert d["summary_share"] == 0.4 and d["avoidable_share"] == 0.025
    assert totals([r, r]).summary_share == pytest.approx(0.4)


def test_bench_no_effort_policy_flag_turns_the_policy_off():
    import argparse

    from reviewbot.commands.bench import options, register
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sim = ["--corpus", "c", "--cachesim", "s.py"]
    assert options(parser.parse_args(["bench", *sim])).config.effort_policy is True
    assert options(parser.parse_args(["bench", *sim, "--no-effort-policy"])).config.effort_policy is False


def test_bench_pass_flags_uniform_naive_and_batch():
    import argparse

    from reviewbot.commands.bench import options, register
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sim = ["--corpus", "c", "--cachesim", "s.py"]
    default = options(parser.parse_args(["bench", *sim]))
    assert (default.uniform, default.batch, default.naive, default.time_scale) == (True, True, False, None)
    off = options(parser.parse_args(["bench", *sim, "--no-uniform", "--no-batch", "--naive", "--time-scale", "0.1"]))
    assert (off.uniform, off.batch, off.naive, off.time_scale) == (False, False, True, 0.1)
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", *sim, "--naive", "--no-naive"])


def test_bench_uniform_and_batch_are_opt_in_against_the_real_api(monkeypatch):
    import argparse

    from reviewbot.commands.bench import options, register
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    plain = options(parser.parse_args(["bench", "--repo", ".", "HEAD"]))
    assert (plain.uniform, plain.batch, plain.naive) == (False, False, False)
    both = options(parser.parse_args(["bench", "--repo", ".", "HEAD", "--uniform", "--batch", "--naive"]))
    assert (both.uniform, both.batch, both.naive) == (True, True, False)     # no naive pass against the API


def test_the_realistic_latency_reaches_the_cachesim_it_starts(tmp_path):
    from reviewbot.bench.cachesim import REALISTIC, Latency, started
    server = tmp_path / "server.py"
    seen = tmp_path / "argv.json"
    server.write_text("import json, sys, time\n"
                      f"open({str(seen)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
                      "print('cachesim listening on http://127.0.0.1:1', flush=True)\ntime.sleep(30)\n")
    with started(server, 0.5, latency=REALISTIC) as url:
        assert url == "http://127.0.0.1:1"
    import json
    argv = json.loads(seen.read_text())
    assert argv[argv.index("--time-scale") + 1] == "0.5"
    assert argv[argv.index("--output-tps") + 1] == "60.0" and argv[argv.index("--ttft-base") + 1] == "0.8"
    assert argv[argv.index("--prefill-tps") + 1] == "10000.0"
    with started(server) as url:
        pass
    assert "--output-tps" not in json.loads(seen.read_text())               # the fast one: cachesim's own
    assert Latency(1, 2, 3).argv() == ["--ttft-base", "1", "--prefill-tps", "2", "--output-tps", "3"]
