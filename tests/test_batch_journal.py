"""The batch journal (pipeline.journal) and what the queue does with it: a batch run killed after the
API accepted a batch is run again and follows that batch instead of paying for its items twice."""
import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from helpers import NoInteractive, batch_reply, model_finding, one_hunk_patch, run_cli, submit

from reviewbot.cli import main
from reviewbot.domain.events import BatchEnded, BatchFollowed, BatchSubmitted
from reviewbot.errors import APIError, InputError
from reviewbot.llm.batches import BatchInfo, ItemResult
from reviewbot.pipeline.batch import BatchQueue, BatchTransport
from reviewbot.pipeline.journal import JOURNAL_FILE, BatchJournal, journal_line, parse_journal


def test_the_journal_maps_each_request_to_its_latest_batch_and_ignores_a_line_cut_short():
    text = journal_line("b1", ["x", "y"]) + journal_line("b2", ["y"]) + '{"batch": "b3", "ite'
    assert parse_journal(text, "j") == {"x": "b1", "y": "b2"}
    assert parse_journal("", "j") == {}
    with pytest.raises(InputError, match=r"^j: line 1 is not a batch journal entry; delete the file") as e:
        parse_journal('{"batch": 1, "items": []}\n' + journal_line("b2", ["y"]), "j")
    assert "\n" not in str(e.value)


def test_the_journal_is_on_disk_when_record_returns_and_read_back_by_the_next_run(tmp_path):
    with BatchJournal(tmp_path / "state") as j:
        assert j.sent(["a"]) == {}
        j.record("b1", ["a", "b"])
        assert json.loads((tmp_path / "state" / JOURNAL_FILE).read_text()) == {"batch": "b1", "items": ["a", "b"]}
        j.record("b2", ["c"])
    with BatchJournal(tmp_path / "state") as j:
        assert j.sent(["c", "a", "z", "b"]) == {"b2": ["c"], "b1": ["a", "b"]}


def test_a_line_cut_short_by_a_kill_is_cut_off_and_the_next_line_starts_clean(tmp_path):
    (tmp_path / JOURNAL_FILE).write_text(journal_line("b1", ["a"]) + '{"batch": "b2", "items": ["b"')
    with BatchJournal(tmp_path) as j:
        assert j.sent(["a", "b"]) == {"b1": ["a"]}
        j.record("b3", ["b"])
    assert (tmp_path / JOURNAL_FILE).read_text() == journal_line("b1", ["a"]) + journal_line("b3", ["b"])
    with BatchJournal(tmp_path) as j:
        assert j.sent(["a", "b"]) == {"b1": ["a"], "b3": ["b"]}


def test_two_runs_cannot_share_a_state_directory_and_a_finished_one_leaves_no_lock(tmp_path):
    with BatchJournal(tmp_path) as j:
        j.record("b1", ["a"])
        with pytest.raises(InputError, match="is the state directory of another reviewbot run that is still going"):
            with BatchJournal(tmp_path):
                pass
    with BatchJournal(tmp_path) as j:                  # the first run ended: its lock went with it
        assert j.sent(["a"]) == {"b1": ["a"]}



class Api:
    """The Message Batches API as a run sees it, kept across runs: the batches it accepted and their
    results. `kill_after` stops the run (as a killed job) once that many batches are accepted;
    `lose` makes the given tags come out of a followed batch as expired; `gone` forgets every batch."""

    def __init__(self, kill_after=None, lose=(), gone=False):
        self.batches, self.sent, self.followed = {}, [], []
        self.kill_after, self.lose, self.gone = kill_after, set(lose), gone
        self.lost_as = "expired"

    async def run(self, items, betas=(), on_event=lambda e: None):
        batch_id = f"msgbatch_{len(self.batches) + 1}"
        self.batches[batch_id] = {cid: ItemResult(cid, "succeeded", batch_reply(f"{p['tag']}@{batch_id}"))
                                  for cid, p in items}
        self.sent.append([p["tag"] for _, p in items])
        on_event(BatchSubmitted(batch_id, len(items)))
        if self.kill_after is not None and len(self.batches) >= self.kill_after:
            raise KeyboardInterrupt
        on_event(BatchEnded(batch_id, 0.0, len(items), 0, 0, 0))
        return BatchInfo(batch_id, 0.0, 1.0, 0), dict(self.batches[batch_id])

    async def follow(self, batch_id, custom_ids, on_event=lambda e: None):
        self.followed.append(batch_id)
        if self.gone or batch_id not in self.batches:
            raise APIError(f"Anthropic API error 404: batch {batch_id} not found", 404)
        got = {cid: r if r.reply is None or r.reply.content[0]["text"].split("@")[0] not in self.lose
               else ItemResult(cid, self.lost_as, error=f"batch item {self.lost_as}")
               for cid, r in self.batches[batch_id].items()}
        return BatchInfo(batch_id, 0.0, 1.0, 1), got



def _run(api, state, tags, events=None):
    """One run: each tag is one agent's single turn, all in one batch round."""
    async def main():
        with BatchJournal(state) as journal:
            q = BatchQueue(api, (events if events is not None else []).append, settle_seconds=0.01, journal=journal)
            t = BatchTransport(q, "r001", NoInteractive())
            got = await asyncio.gather(*(t.send({"model": "m", "max_tokens": 10, "tag": tag, "messages": []})
                                         for tag in tags), return_exceptions=True)
            return [g if isinstance(g, BaseException) else g.content[0]["text"] for g in got], q.batches
    return asyncio.run(main())


def test_a_run_killed_after_its_batch_was_accepted_is_followed_not_paid_again(tmp_path):
    api = Api(kill_after=1)
    with pytest.raises(KeyboardInterrupt):
        _run(api, tmp_path, ["a", "b"])
    assert api.sent == [["a", "b"]]
    api.kill_after, events = None, []
    got, batches = _run(api, tmp_path, ["a", "b"], events)
    assert got == ["a@msgbatch_1", "b@msgbatch_1"]            # the first run's answers
    assert api.sent == [["a", "b"]] and api.followed == ["msgbatch_1"]        # nothing sent again
    assert [(i.batch_id, n) for i, n in batches] == [("msgbatch_1", 2)]
    assert BatchFollowed("msgbatch_1", 2) in events


def test_only_the_requests_the_journal_lacks_are_sent(tmp_path):
    api = Api()
    _run(api, tmp_path, ["a"])
    got, _ = _run(api, tmp_path, ["a", "c"])                  # a new agent's turn beside a known one
    assert got == ["a@msgbatch_1", "c@msgbatch_2"] and api.sent == [["a"], ["c"]]
    assert api.followed == ["msgbatch_1"]


@pytest.mark.parametrize("lost_as", ["expired", "canceled", "errored"])
def test_what_an_earlier_batch_lost_is_sent_again_and_journalled(tmp_path, lost_as):
    api = Api(kill_after=1)
    with pytest.raises(KeyboardInterrupt):
        _run(api, tmp_path, ["a", "b"])
    api.kill_after, api.lose, api.lost_as = None, {"b"}, lost_as
    got, _ = _run(api, tmp_path, ["a", "b"])
    assert got == ["a@msgbatch_1", "b@msgbatch_2"] and api.sent == [["a", "b"], ["b"]]
    api.lose = set()
    got, _ = _run(api, tmp_path, ["a", "b"])                  # the journal names the newer batch for b
    assert got == ["a@msgbatch_1", "b@msgbatch_2"] and api.sent == [["a", "b"], ["b"]]


def test_a_batch_the_api_no_longer_has_is_sent_again(tmp_path):
    api = Api()
    _run(api, tmp_path, ["a"])
    api.gone = True
    got, _ = _run(api, tmp_path, ["a"])
    assert got == ["a@msgbatch_2"] and api.sent == [["a"], ["a"]]


def test_a_followed_batch_that_cannot_be_read_fails_every_waiting_call(tmp_path):
    class Down(Api):
        async def follow(self, batch_id, custom_ids, on_event=lambda e: None):
            raise APIError("Anthropic API error 500: boom", 500)
    api = Down()
    _run(api, tmp_path, ["a"])
    got, _ = _run(api, tmp_path, ["a", "b"])
    assert all(isinstance(g, APIError) and g.status == 500 for g in got)


class ApiForTheCli:
    """`Api` for a whole command: each item answered by the scripted transport; `connect` is the
    ConnectBatches a command is passed."""

    def __init__(self, transport, kill_after=None):
        self.transport, self.kill_after = transport, kill_after
        self.batches, self.sent, self.followed = {}, [], []

    async def run(self, items, betas=(), on_event=lambda e: None):
        batch_id = f"msgbatch_{len(self.batches) + 1}"
        self.sent.append(len(items))
        self.batches[batch_id] = {cid: ItemResult(cid, "succeeded", replace(await self.transport.send(p), batch=True))
                                  for cid, p in items}
        on_event(BatchSubmitted(batch_id, len(items)))
        if self.kill_after is not None and len(self.batches) >= self.kill_after:
            raise KeyboardInterrupt
        return BatchInfo(batch_id, 0.0, 0.0, 0), dict(self.batches[batch_id])

    async def follow(self, batch_id, custom_ids, on_event=lambda e: None):
        self.followed.append(batch_id)
        return BatchInfo(batch_id, 0.0, 0.0, 1), dict(self.batches[batch_id])

    def connect(self, connection, poll_seconds):
        @asynccontextmanager
        async def opened():
            yield self
        return opened()


@pytest.mark.parametrize("killed_in", [1, 2])        # the specialists' batch, the summary's
def test_review_batch_killed_after_a_batch_was_accepted_resumes_without_paying_again(tmp_path, monkeypatch, capsys,
                                                                                     scripted, killed_in):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")      # nothing listens: the SDK is never used
    t = scripted({"*": submit(model_finding(path="app.py", line=2))})
    api = ApiForTheCli(t, kill_after=killed_in)
    kept = tmp_path / "kept"
    argv = ["review", "--repo", str(tmp_path), "--diff", str(one_hunk_patch(tmp_path)), "--format", "json", "--batch"]
    code = main([*argv, "--keep-workspace", str(kept)], connect=t.connect, connect_batches=api.connect)
    assert code == 130 and len(api.sent) == killed_in
    capsys.readouterr()
    api.kill_after = None
    with BatchJournal(kept / "state"):                                  # another run is resuming it
        code = main([*argv, "--resume", str(kept)], connect=t.connect, connect_batches=api.connect)
    assert code == 3 and "still going" in capsys.readouterr().err and len(api.sent) == killed_in
    code = main([*argv, "--resume", str(kept)], connect=t.connect, connect_batches=api.connect)
    out = capsys.readouterr()
    assert code == 0, out.err
    review = json.loads(out.out)
    assert review["complete"] is True and review["summary"]["status"] == "ok"
    # the killed batch is followed (the summary's: the specialists were saved when they finished, so
    # they are not asked again at all); only the summary is sent, after a kill in the first batch
    assert len(api.sent) == 2 and api.followed == [f"msgbatch_{killed_in}"]
    assert f"msgbatch_{killed_in}: {api.sent[0] if killed_in == 1 else 1} request(s) sent by an earlier run, " \
           "followed (not sent again)" in out.err


def test_bulk_state_dir_that_is_a_file_or_in_use_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    from corpus import clone
    repo, _ = clone("unidiff-126", tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    (tmp_path / "file").write_text("x")
    argv = ["bulk", "--repo", str(repo), "--out", str(tmp_path / "o"), "base..pr"]
    code, out, err = run_cli(capsys, *argv, "--state-dir", str(tmp_path / "file"))
    assert (code, out) == (3, "") and "cannot open the batch journal" in err and err.count("\n") == 1
    with BatchJournal(tmp_path / "busy"):
        code, out, err = run_cli(capsys, *argv, "--state-dir", str(tmp_path / "busy"))
    assert (code, out) == (3, "") and "still going" in err and err.count("\n") == 1
