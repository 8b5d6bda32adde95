"""The matrix cells, the resume keys and store, and the harness's failure paths."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from reviewbot.config import Config
from reviewbot.domain.specialists import NAMES
from reviewbot.errors import APIError, ConfigError, InputError
from reviewbot.eval.golden import load_golden
from reviewbot.eval.matrix import Cell, expand
from reviewbot.eval.run import Evaluation, judgment_key, review_key
from reviewbot.eval.score import Candidate
from reviewbot.eval.source import read_local
from reviewbot.eval.store import CallEntry, JudgmentRecord, LinkEntry, Store, slug
from reviewbot.llm.usage import CallRecord, Usage, call_cost

GOLDEN = load_golden(Path(__file__).parent / "data" / "eval" / "golden.json")
UNIDIFF = GOLDEN[1]


def test_cells_are_the_product_of_the_axes():
    cells = expand(["m1", "m2"], ["security", "correctness,security"], ["low", "high"])
    assert len(cells) == 8
    assert cells[0] == Cell("m1", ("security",), "low")
    assert cells[3] == Cell("m1", ("security", "correctness"), "high")     # registry order
    assert cells[0].label == "m1 · security · effort low"
    assert expand(None, None, None) == (Cell(),) and Cell().label == "default"


def test_each_and_all():
    each = expand(None, ["each"], None)
    assert [c.specialists for c in each] == [(n,) for n in NAMES]
    assert expand(None, ["all", "all"], None) == (Cell(None, NAMES, None),)
    assert Cell(None, NAMES).label == "all"


@pytest.mark.parametrize("args, message", [
    ((None, ["secuirty"], None), "unknown specialist 'secuirty'"),
    ((None, [","], None), "unknown specialist ','"),
    ((None, None, ["extreme"]), "'extreme' is not an effort level"),
])
def test_bad_axes(args, message):
    with pytest.raises(ConfigError, match=message):
        expand(*args)


def test_a_cell_sets_the_config_and_the_review_wide_effort():
    base = Config(min_confidence=0.7)
    c = Cell("claude-sonnet-5-5", ("security",), "low").config(base)
    assert (c.model, c.specialists, c.min_confidence, c.effort) == ("claude-sonnet-5-5", ("security",), 0.7, "low")
    assert Cell().config(base) is base
    assert Cell(effort="high").config(base).specialists == base.specialists


def test_keys_change_with_what_decides_the_result():
    cfg = Config()
    k = review_key(UNIDIFF, Cell(), cfg)
    assert k == review_key(UNIDIFF, Cell(), Config())
    assert k != review_key(UNIDIFF, Cell(), replace(cfg, min_confidence=0.9))
    assert k != review_key(UNIDIFF, Cell(effort="low"), cfg)
    assert k != review_key(GOLDEN[2], Cell(), cfg)
    cands = (Candidate(1, "security", "low", "a", 1, "t", "e"),)
    j = judgment_key(UNIDIFF, cands, "claude-opus-5-5")
    assert j != judgment_key(UNIDIFF, cands, "claude-opus-4-8")
    assert j != judgment_key(UNIDIFF, (replace(cands[0], title="t2"),), "claude-opus-5-5")
    assert j != judgment_key(GOLDEN[2], cands, "claude-opus-5-5")


def test_the_store_round_trips_and_refuses_a_broken_file(tmp_path):
    store = Store(tmp_path)
    call = CallRecord("judge#1", "claude-opus-5-5", Usage(10, 20, 0, 30, 40), 0, 0, 0, "tool_use")
    rec = JudgmentRecord(key="k" * 64, pr=UNIDIFF.id, links=[LinkEntry(golden=1, candidate=2, kind="match", reason="r")],
                         calls=[CallEntry.of(call)])
    path = store.save_judgment(rec)
    assert path.name == f"{slug(UNIDIFF.id)}.{'k' * 16}.json" == "matiasb-python-unidiff-pull-126.kkkkkkkkkkkkkkkk.json"
    back = store.load_judgment(UNIDIFF.id, "k" * 64)
    assert back == rec and call_cost(back.calls[0].record()) == call_cost(call)
    assert store.load_judgment(UNIDIFF.id, "j" * 64) is None
    path.write_text("{ broken")
    with pytest.raises(InputError, match="unreadable"):
        store.load_judgment(UNIDIFF.id, "k" * 64)


class Failing:
    async def send(self, request, on_first_byte=None):
        raise APIError("Anthropic API error 529: Overloaded")


def test_a_pr_that_cannot_be_reviewed_is_reported_and_left_out(tmp_path):
    store = Store(tmp_path)
    ev = Evaluation(Failing(), "claude-opus-5-5", store, read_local)
    [cell] = asyncio.run(ev.run((UNIDIFF,), (Cell(),), Config(max_retries=0)))
    [pr] = cell.prs
    assert pr.error == "review failed: Anthropic API error 529: Overloaded" and pr.score is None
    assert cell.failed == [pr] and cell.totals.counts.golden == 0
    assert not (tmp_path / "reviews").exists()                           # nothing saved: redone next time


def test_an_unreadable_pr_is_reported_too(tmp_path):
    def unreadable(golden):
        raise InputError("cannot read the bundle x.bundle: bad")
    ev = Evaluation(Failing(), "claude-opus-5-5", Store(tmp_path), unreadable)
    [cell] = asyncio.run(ev.run((UNIDIFF,), (Cell(),), Config()))
    assert cell.prs[0].error == "cannot read the PR: cannot read the bundle x.bundle: bad"


def test_a_local_range_of_a_repository(tmp_path):
    from corpus import clone
    repo, meta = clone("express-6522", tmp_path)
    f = tmp_path / "g.json"
    f.write_text(json.dumps([{"url": "https://github.com/expressjs/express/pull/6522", "repo": "express-6522",
                              "base": "base", "head": "pr", "comments": [{"comment": "c", "severity": "Low"}]}]))
    [g] = load_golden(f)
    assert g.local == repo and g.is_local
    change = read_local(g)
    assert len(change.files) == meta["files_changed"] and change.meta.head_ref == "pr"


def test_read_local_takes_the_golden_title():
    change = read_local(UNIDIFF)
    assert change.meta.title == "Drop Python 2 support" and len(change.files) == 8
