"""End to end: `reviewbot review --batch` and `reviewbot bulk`, Message Batches replayed from cassettes
recorded against cachesim (its batches emulation: items in order, billed at 50%)."""
import json
import subprocess
from contextlib import asynccontextmanager

import pytest
from cassette import api_key, api_url, cassette, reset_cachesim
from corpus import GIT_ENV, clone

from reviewbot.cli import main
from reviewbot.domain.events import BatchSubmitted, ignore
from reviewbot.llm.batches import connect_anthropic_batches

FAST = {"time_scale": 0.1, "batch_delay": 0.05}


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key())
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api_url())


def test_review_batch_is_the_same_review_at_half_the_price(tmp_path, capsys, env):
    reset_cachesim(FAST)
    repo, meta = clone("unidiff-126", tmp_path)
    with cassette("test_batch_review_unidiff-126.yaml"):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "json",
                     "--batch", "--keep-workspace", str(tmp_path / "kept")])
    out = capsys.readouterr()
    review = json.loads(out.out)
    assert code == 0 and review["complete"] is True
    assert review["change"]["files_changed"] == meta["files_changed"]
    ran = [s for s in review["specialists"] if s["status"] != "idle"]
    assert ran and all(s["status"] == "ok" for s in ran)
    assert review["summary"]["status"] == "ok" and review["verdict"]
    calls = review["usage"]["calls"]
    assert calls and all(c["batch"] for c in calls)
    # the batch layout: the tools + base prompt and the review's files written once at 5m (the default
    # --batch-ttl), by the first item processed; every other item reads them
    assert all(c["cache_write_1h"] == 0 for c in calls)
    assert [c["cache_write_5m"] > 0 for c in calls].count(True) == 1
    first = next(c for c in calls if c["cache_write_5m"])
    prefix = first["cache_write_5m"] + first["cache_read"]
    assert all(c["cache_read"] >= prefix for c in calls if c is not first)
    totals = review["usage"]["totals"]
    assert totals["batch_calls"] == len(calls)
    assert totals["batch_discount_usd"] == pytest.approx(totals["cost_usd"], rel=1e-3)   # 50%: as much again
    assert "batch msgbatch_" in out.err and "in batches (discount $" in out.err
    assert json.loads((tmp_path / "kept" / "usage.json").read_text()) == review["usage"]


def _commit_on_pr(repo):
    """A second, later commit on pr, so the bulk run has two ranges of one repository."""
    (repo / "NOTES.md").write_text("# Notes\n\nThe parser keeps a line's terminator.\n")
    dated = {**GIT_ENV, "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
    for argv in (["git", "add", "NOTES.md"], ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "notes"]):
        subprocess.run(argv, cwd=repo, check=True, capture_output=True, env=dated)


def _bulk(tmp_path, name, *extra):
    repo, _ = clone("unidiff-126", tmp_path)
    _commit_on_pr(repo)
    out_dir = tmp_path / "reviews"
    with cassette(name):
        code = main(["bulk", "--repo", str(repo), "base..pr~1", "pr", "--format", "json", "--out", str(out_dir),
                     "--poll-seconds", "0.05", *extra])
    return code, out_dir


def test_bulk_reviews_every_range_in_shared_batches(tmp_path, capsys, env):
    reset_cachesim(FAST)
    code, out_dir = _bulk(tmp_path, "test_batch_bulk.yaml")
    out = capsys.readouterr()
    assert code == 0, out.err
    files = sorted(out_dir.iterdir())
    assert [p.name for p in files] == ["001-base..pr_1.json", "002-pr.json"]
    reviews = [json.loads(p.read_text()) for p in files]
    assert all(r["complete"] for r in reviews)
    assert reviews[1]["change"]["files_changed"] == 1                   # the commit alone: NOTES.md
    assert all(c["batch"] for r in reviews for c in r["usage"]["calls"])
    lines = out.out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("base..pr~1: ") and "complete" in lines[0]
    # the first turns of both reviews went in one batch
    first = next(line for line in out.err.splitlines() if "request(s) submitted" in line)
    n_first = int(first.split(": ")[-1].split()[0])
    assert n_first == sum(1 for r in reviews for s in r["specialists"] if s["status"] != "idle")
    assert "batch discount $" in out.err


def test_bulk_keeps_a_review_whose_items_errored_as_partial(tmp_path, capsys, env):
    # The one-file commit gets the last item of the first batch (items run in custom_id order): it errors.
    reset_cachesim({**FAST, "fault_plan": [{"match": {"nth": 1}, "status": 529, "message": "Overloaded"}]})
    code, out_dir = _bulk(tmp_path, "test_batch_bulk_errored.yaml")
    out = capsys.readouterr()
    assert code == 5, out.err
    reviews = [json.loads(p.read_text()) for p in sorted(out_dir.iterdir())]
    assert len(reviews) == 2                                            # none lost
    partial = [r for r in reviews if not r["complete"]]
    assert len(partial) == 1
    failed = [s for s in partial[0]["specialists"] if s["status"] == "failed"] or [partial[0]]
    text = json.dumps(failed)
    assert "overloaded_error" in text or "errored" in text
    assert "PARTIAL" in out.out


def test_review_batch_tool_rounds_send_thinking_back_over_the_same_prefix(tmp_path, capsys, env):
    # Nothing but the context pre-read: the reviewers read the patches themselves, so their next turns
    # (thinking blocks sent back, which cachesim checks against the prefix they followed) go in later batches.
    reset_cachesim(FAST)
    repo, _ = clone("unidiff-126", tmp_path)
    config = tmp_path / "rb.toml"
    config.write_text("preload_chars = 0\nrelated_code_tokens = 0\n")
    with cassette("test_batch_review_rounds_unidiff-126.yaml"):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "json",
                     "--batch", "--config", str(config), "-v"])
    out = capsys.readouterr()
    review = json.loads(out.out)
    assert code == 0 and review["complete"] is True, out.err
    assert all(s["status"] == "ok" for s in review["specialists"] if s["status"] != "idle")
    assert out.err.count("request(s) submitted") >= 3              # round 1, a tool round, the summaries
    calls = review["usage"]["calls"]
    later = [c for c in calls if not c["label"].endswith("#1")]
    assert later and all(c["batch"] for c in calls)
    first = next(c for c in calls if c["cache_write_5m"])
    system_part = first["cache_write_5m"]
    assert all(c["cache_read"] >= system_part for c in later)     # the review's part, read in every round


def _killed_once_the_first_batch_is_accepted(connection, poll_seconds):
    """The real Message Batches client, but the run stops (as a killed job) the moment the API has
    accepted its first batch: the batch goes on without it."""
    @asynccontextmanager
    async def opened():
        async with connect_anthropic_batches(connection, poll_seconds) as inner:
            class Killed:
                async def run(self, items, betas=(), on_event=ignore):
                    def seen(event):
                        on_event(event)
                        if isinstance(event, BatchSubmitted):
                            raise KeyboardInterrupt
                    return await inner.run(items, betas, seen)

                async def follow(self, batch_id, custom_ids, on_event=ignore):
                    return await inner.follow(batch_id, custom_ids, on_event)
            yield Killed()
    return opened()


def test_bulk_killed_after_its_first_batch_follows_that_batch_when_run_again(tmp_path, capsys, env):
    reset_cachesim(FAST)
    repo, _ = clone("unidiff-126", tmp_path)
    _commit_on_pr(repo)
    state, out_dir = tmp_path / "state", tmp_path / "reviews"
    argv = ["bulk", "--repo", str(repo), "base..pr~1", "pr", "--format", "json", "--out", str(out_dir),
            "--poll-seconds", "0.05", "--state-dir", str(state)]
    with cassette("test_batch_bulk_killed.yaml"):
        code = main(argv, connect_batches=_killed_once_the_first_batch_is_accepted)
        killed = capsys.readouterr()
        assert code == 130 and not any(out_dir.iterdir())                    # no review written
        first = [json.loads(line) for line in (state / "batches.jsonl").read_text().splitlines()]
        assert len(first) == 1 and first[0]["batch"] in killed.err          # journalled before the first poll
        code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    reviews = [json.loads(p.read_text()) for p in sorted(out_dir.iterdir())]
    assert len(reviews) == 2 and all(r["complete"] for r in reviews)
    # the killed run's batch is read, not sent again: this run submits only the summaries' batch
    assert f"batch {first[0]['batch']}: {len(first[0]['items'])} request(s) sent by an earlier run, followed" \
        in out.err
    assert out.err.count("request(s) submitted") == 1
    journal = [json.loads(line) for line in (state / "batches.jsonl").read_text().splitlines()]
    assert journal[0] == first[0] and len(journal) == 2
