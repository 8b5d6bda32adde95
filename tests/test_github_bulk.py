"""End to end: `reviewbot bulk --github OWNER/NAME N ...`, GitHub and the Message Batches replayed together.

The cassettes were recorded against a ghsim serving the test PR (tests/data/github/widgets-7.bundle)
twice, as acme/widgets#7 and #8 (tests/rerecord.py starts it: REVIEWBOT_GHSIM_BULK_URL), and cachesim
with its batches emulation. Replaying needs neither; `cass.all_played` proves the replayed run made
exactly the recorded calls. The ghsim control calls (`/_reset`, `/_push`) are made only while
recording and are never part of a cassette.
"""
from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import urllib.request
from contextlib import asynccontextmanager

import pytest
from cassette import CASSETTES, RECORDING, api_key, api_url, recorder, rehost, reset_cachesim

from reviewbot.cli import main
from reviewbot.commands import bulk as bulk_command
from reviewbot.domain.events import ignore
from reviewbot.errors import EXIT_API, EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, Outcome
from reviewbot.github.bulk import PullRun, exit_code, pull_numbers
from reviewbot.github.markers import read_markers
from reviewbot.github.run import Out, Ran
from reviewbot.llm.batches import connect_anthropic_batches

REPLAY = "http://127.0.0.1:8810"
GHSIM = (os.environ.get("REVIEWBOT_GHSIM_BULK_URL", REPLAY) if RECORDING else REPLAY).rstrip("/")
TOKEN, REPO = "ghs_rbTestWrite", "acme/widgets"
EVENTS = CASSETTES.parent / "data" / "github" / "events"
OPENED_HEAD = json.loads((EVENTS / "widgets-7-opened.json").read_text())["pull_request"]["head"]["sha"]
PUSHED_HEAD = json.loads((EVENTS / "widgets-7-synchronize.json").read_text())["pull_request"]["head"]["sha"]
FAST = {"time_scale": 0.1, "batch_delay": 0.05}


def _no_control(request):
    if urllib.parse.urlparse(request.uri).path.startswith("/_"):
        return None
    if RECORDING and request.uri.startswith(GHSIM):
        request.uri = REPLAY + request.uri[len(GHSIM):]
    return request


def _canonical_host(response):
    """Answers name ghsim as the replay does (its URLs point back at it), and keep no token."""
    return rehost(response, {GHSIM} if RECORDING else set(), REPLAY)


def cassette(name: str):
    if RECORDING:
        (CASSETTES / name).unlink(missing_ok=True)
    return recorder().use_cassette(name, before_record_request=_no_control, before_record_response=_canonical_host)


def control(path: str, body: dict | None = None) -> None:
    if RECORDING:
        req = urllib.request.Request(GHSIM + path, data=json.dumps(body or {}).encode(), method="POST")
        urllib.request.urlopen(req, timeout=30).read()


def reset() -> None:
    control("/_reset", {"fault_plan": []})
    reset_cachesim(FAST)


@pytest.fixture
def env(monkeypatch):
    for k, v in {"GITHUB_API_URL": GHSIM if RECORDING else REPLAY, "GITHUB_TOKEN": TOKEN,
                 "ANTHROPIC_API_KEY": api_key(), "ANTHROPIC_BASE_URL": api_url()}.items():
        monkeypatch.setenv(k, v)
    for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(k, raising=False)


def bulk(capsys, out_dir, *args, **passed):
    code = main(["bulk", "--github", REPO, *args, "--out", str(out_dir), "--poll-seconds", "0.05",
                 "--github-throttle", "0"], **passed)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def calls(cass):
    out = []
    for req, resp in zip(cass.requests, cass.responses, strict=True):
        body = req.body.decode() if isinstance(req.body, bytes) else (req.body or "")
        out.append((req.method, urllib.parse.urlparse(req.uri).path, resp["status"]["code"], body))
    return out


def reviews_posted(cass) -> list[tuple[str, int, dict]]:
    """(path, status, body) of every review POST."""
    return [(p, s, json.loads(b)) for m, p, s, b in calls(cass) if m == "POST" and p.endswith("/reviews")]


def github_writes(cass):
    return [c for c in calls(cass) if c[0] != "GET" and not c[1].startswith("/v1/") and c[1] != "/graphql"
            or c[1] == "/graphql" and json.loads(c[3])["query"].startswith("mutation")]


def assert_replayed(cass) -> None:
    assert RECORDING or cass.all_played, "the run made other calls than the recorded ones"


# ------------------------------------------------------------------------------------ end to end


def test_bulk_posts_one_review_per_pr_from_one_batch_run_and_a_rerun_posts_nothing(tmp_path, capsys, env,
                                                                                      monkeypatch):
    reset()
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with cassette("test_github_bulk.yaml") as cass:
        first = bulk(capsys, tmp_path / "out", "7", "8")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert_replayed(cass)
    with cassette("test_github_bulk_again.yaml") as cass_again:     # ghsim keeps what the first run posted
        again = bulk(capsys, tmp_path / "again", "7", "#8", "7", "--fail-on", "nit")
    assert_replayed(cass_again)
    code, out, err = first
    assert code == EXIT_OK, err
    posted = reviews_posted(cass)
    assert [(p, s) for p, s, _ in posted] == [(f"/repos/{REPO}/pulls/7/reviews", 200),
                                              (f"/repos/{REPO}/pulls/8/reviews", 200)]
    for _, _, review in posted:
        assert review["commit_id"] == OPENED_HEAD and review["event"] == "COMMENT"
        assert read_markers(review["body"], "summary")[0]["head"] == OPENED_HEAD
    # both PRs' specialists went in one batch, their summaries in the next
    batches = [json.loads(b) for m, p, _, b in calls(cass) if m == "POST" and p == "/v1/messages/batches"]
    assert len(batches) == 2
    owners = [{r["custom_id"].split("-")[0] for r in b["requests"]} for b in batches]
    assert owners == [{"pr7", "pr8"}, {"pr7", "pr8"}]
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{REPO}#7: ") and lines[1].startswith(f"{REPO}#8: ")
    assert all("complete; Posted " in line for line in lines)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["001-pr7.md", "002-pr8.md"]
    assert (tmp_path / "out" / "001-pr7.md").read_text().startswith("# reviewbot: Add volume discounts")
    assert "usage: 8 calls over all reviews" in err and "batch discount $" in err
    # the job summary: appended, one item per PR (its stdout line) and the run's usage line
    job = summary.read_text().splitlines()
    assert job[:3] == ["earlier step", f"### reviewbot bulk: {REPO}, 2 pull request(s)", ""]
    assert [line.split(": ", 1)[0] for line in job[3:5]] == [f"- {REPO}#7", f"- {REPO}#8"]
    assert all("complete; Posted " in line for line in job[3:5]) and job[5] == ""
    assert job[6].startswith("usage: 8 calls over all reviews") and len(job) == 7

    # the same PRs again (#8 twice, as #8): both heads are reviewed, nothing posted, nothing paid; --fail-on holds
    code, out, err = again
    assert code == EXIT_FINDINGS, err
    assert calls(cass_again) and github_writes(cass_again) == []
    assert not [c for c in calls(cass_again) if c[1].startswith("/v1/")]
    assert out.splitlines() == [f"{REPO}#7: Already reviewed `{OPENED_HEAD[:12]}`: nothing new to post.",
                                f"{REPO}#8: Already reviewed `{OPENED_HEAD[:12]}`: nothing new to post."]
    assert not (tmp_path / "again").exists() or not list((tmp_path / "again").iterdir())
    for text in (first[1], first[2], out, err, (CASSETTES / "test_github_bulk.yaml").read_text(),
                 (CASSETTES / "test_github_bulk_again.yaml").read_text()):
        assert TOKEN not in text


def test_bulk_one_pr_failing_does_not_stop_the_others(tmp_path, capsys, env):
    reset()
    with cassette("test_github_bulk_failing.yaml") as cass:
        code, out, err = bulk(capsys, tmp_path / "out", "99", "7", "--fail-on", "nit")
    assert_replayed(cass)
    assert code == EXIT_API, err                       # the failure wins over --fail-on
    assert [p for p, _, _ in reviews_posted(cass)] == [f"/repos/{REPO}/pulls/7/reviews"]
    lines = out.splitlines()
    assert lines[0].startswith(f"{REPO}#99: FAILED: GitHub: not found while reading pull request")
    assert lines[1].startswith(f"{REPO}#7: ") and "Posted " in lines[1]
    assert f"reviewbot: {REPO}#99: error: GitHub: not found" in err
    assert err.rstrip().endswith(f"reviewbot: 1 of 2 pull request(s) failed: {REPO}#99")
    batches = [json.loads(b) for m, p, _, b in calls(cass) if m == "POST" and p == "/v1/messages/batches"]
    assert batches and all(r["custom_id"].startswith("pr7-") for b in batches for r in b["requests"])


def test_bulk_no_post_writes_each_review_and_posts_nothing(tmp_path, capsys, env):
    reset()
    with cassette("test_github_bulk_no_post.yaml") as cass:
        code, out, err = bulk(capsys, tmp_path / "out", "7", "8", "--no-post", "--format", "json",
                              "--fail-on", "nit")
    assert_replayed(cass)
    assert code == EXIT_FINDINGS, err
    assert github_writes(cass) == []
    reviews = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").iterdir())]
    assert [r["change"]["number"] for r in reviews] == [7, 8]
    assert all(r["complete"] and r["change"]["head_sha"] == OPENED_HEAD for r in reviews)
    assert all(c["batch"] for r in reviews for c in r["usage"]["calls"])
    assert all("Not posted (--no-post)." in line for line in out.splitlines())
    assert err.count("--no-post: would post ") == 2


def test_bulk_whose_state_dir_another_run_holds_stops_before_any_model_call(tmp_path, capsys, env):
    from reviewbot.pipeline.journal import BatchJournal
    reset()
    with cassette("test_github_bulk_no_post.yaml") as cass, BatchJournal(tmp_path / "state"):
        code, out, err = bulk(capsys, tmp_path / "out", "7", "8", "--no-post", "--state-dir", str(tmp_path / "state"))
    assert code == EXIT_INPUT and out == ""
    assert err.rstrip().splitlines()[-1].endswith("is the state directory of another reviewbot run that is still "
                                                  "going; wait for it, or give this run another --state-dir")
    played = [urllib.parse.urlparse(r.uri).path for i, r in enumerate(cass.requests) if cass.play_counts[i]]
    assert played and not [p for p in played if p.startswith("/v1/")]          # the PRs were read, no more
    assert all(r.method == "GET" or r.uri.endswith("/graphql")
               for i, r in enumerate(cass.requests) if cass.play_counts[i])


class _PushDuringBatch:
    """The batches client, which pushes `pr2` to PR #8 (on ghsim, while recording) once the first
    batch has ended: the PR's head moves while the bulk run is reviewing it."""

    def __init__(self, client):
        self.client, self.pushed = client, False

    async def run(self, items, betas=(), on_event=ignore):
        got = await self.client.run(items, betas, on_event)
        if not self.pushed:
            self.pushed = True
            control("/_push", {"repo": REPO, "number": 8, "ref": "pr2"})
        return got


@asynccontextmanager
async def _pushing(connection, poll_seconds):
    async with connect_anthropic_batches(connection, poll_seconds) as client:
        yield _PushDuringBatch(client)


def test_bulk_posts_the_review_of_a_head_that_moved_as_that_heads_review(tmp_path, capsys, env):
    reset()
    with cassette("test_github_bulk_stale.yaml") as cass:
        first = bulk(capsys, tmp_path / "out", "7", "8", connect_batches=_pushing)
    assert_replayed(cass)
    with cassette("test_github_bulk_stale_next.yaml") as cass_next:
        second = bulk(capsys, tmp_path / "out2", "7", "8")
    assert_replayed(cass_next)
    code, out, err = first
    assert code == EXIT_OK, err
    posted = reviews_posted(cass)
    assert len(posted) == 2
    first_posts = [(p, r) for p, _, r in posted]
    # PR #8 moved to PUSHED_HEAD while the batch ran: its review is the old head's, on that commit
    assert [(p, r["commit_id"]) for p, r in first_posts] == [(f"/repos/{REPO}/pulls/7/reviews", OPENED_HEAD),
                                                              (f"/repos/{REPO}/pulls/8/reviews", OPENED_HEAD)]
    assert read_markers(first_posts[1][1]["body"], "summary")[0]["head"] == OPENED_HEAD
    [line8] = [ln for ln in out.splitlines() if ln.startswith(f"{REPO}#8: ")]
    assert f"The head moved to {PUSHED_HEAD[:12]} while the review ran: this is the review of {OPENED_HEAD[:12]}" in line8
    [line7] = [ln for ln in out.splitlines() if ln.startswith(f"{REPO}#7: ")]
    assert "head moved" not in line7

    # the next run: #7 is reviewed; #8 gets the commits pushed since, as an update on the new head
    code, out, err = second
    assert code == EXIT_OK, err
    later = [(p, r) for p, _, r in reviews_posted(cass_next)]
    assert [(p, r["commit_id"]) for p, r in later] == [(f"/repos/{REPO}/pulls/8/reviews", PUSHED_HEAD)]
    marker = read_markers(later[0][1]["body"], "update")[0]
    assert marker["head"] == PUSHED_HEAD and marker["prev"] == OPENED_HEAD
    assert out.splitlines()[0] == f"{REPO}#7: Already reviewed `{OPENED_HEAD[:12]}`: nothing new to post."
    assert "Posted " in out.splitlines()[1]
    assert any(c[1].startswith(f"/repos/{REPO}/compare/") for c in calls(cass_next))
    # the re-read that saw the head move, before #8's review was posted
    gets = [i for i, c in enumerate(calls(cass)) if c[:2] == ("GET", f"/repos/{REPO}/pulls/8")]
    post8 = next(i for i, c in enumerate(calls(cass)) if c[:2] == ("POST", f"/repos/{REPO}/pulls/8/reviews"))
    assert len(gets) == 2 and gets[1] < post8


# ------------------------------------------------------------------------------------ flags and exit codes


@pytest.mark.parametrize("argv, says", [
    (["bulk", "--github", REPO, "x12"], "each argument is a pull request number, got 'x12'"),
    (["bulk", "--github", REPO, "0"], "each argument is a pull request number, got '0'"),
    (["bulk", "--github", "not-a-repo", "7"], "--repo must be OWNER/NAME"),
    (["bulk", "base..pr", "--no-post"], "--no-post is for pull requests (--github OWNER/NAME)"),
    (["bulk", "--github", REPO, "7", "--provider", "vertex", "--model", "claude-opus-4-8", "--vertex-region", "us-east5",
      "--vertex-project-id", "p"], "batch"),
])
def test_bulk_usage_errors_are_exit_2_before_any_request(argv, says, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")       # nothing listens: no request may be made
    assert main(argv) == EXIT_USAGE
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("missing, says", [("GITHUB_TOKEN", "GITHUB_TOKEN is not set"),
                                            ("ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY is not set")])
def test_bulk_without_a_token_or_key_is_exit_2(missing, says, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    monkeypatch.delenv(missing)
    assert main(["bulk", "--github", REPO, "7"]) == EXIT_USAGE
    assert says in capsys.readouterr().err


def test_pull_numbers_keep_the_order_and_each_number_once():
    assert pull_numbers(["12", "#15", "12", "31"]) == (12, 15, 31)


def _pr(code: int | None, error=None) -> PullRun:
    from reviewbot.github.event import ActionsEnv
    pr = PullRun(1, 1, f"{REPO}#1", Out(ActionsEnv(), True, False))
    if error is not None:
        pr.error = error
    elif code is not None:
        pr.ran = Ran(Outcome(code))
    return pr


def test_the_run_exit_code_a_failure_over_findings_over_partial():
    from reviewbot.errors import APIError, ConfigError
    assert exit_code([_pr(EXIT_OK), _pr(None)]) == EXIT_OK
    assert exit_code([_pr(EXIT_PARTIAL), _pr(EXIT_OK)]) == EXIT_PARTIAL
    assert exit_code([_pr(EXIT_PARTIAL), _pr(EXIT_FINDINGS)]) == EXIT_FINDINGS
    assert exit_code([_pr(EXIT_FINDINGS), _pr(None, APIError("404"))]) == EXIT_API
    assert exit_code([_pr(EXIT_API)]) == EXIT_API                        # a summary edit that failed after posting
    assert exit_code([_pr(None, ConfigError("bad config")), _pr(None, APIError("x"))]) == EXIT_USAGE
    assert exit_code([_pr(EXIT_INPUT), _pr(EXIT_FINDINGS)]) == EXIT_INPUT


def test_the_bulk_exit_codes_are_the_documented_ones():
    assert set(bulk_command.EXIT_MEANINGS) == {EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INPUT, EXIT_API, EXIT_PARTIAL}
    assert "--github" in bulk_command.EXIT_MEANINGS[EXIT_API]


class _ReviewedElsewhere(_PushDuringBatch):
    """As _PushDuringBatch, then another run (`reviewbot github --repo --pr 8`, in a thread: its own
    event loop) reviews and posts PR #8's new head while the bulk run is still in its batches."""

    async def run(self, items, betas=(), on_event=ignore):
        first = not self.pushed
        got = await super().run(items, betas, on_event)
        if first:
            self.other = await asyncio.to_thread(main, ["github", "--repo", REPO, "--pr", "8", "--github-throttle",
                                                        "0", "--format", "json"])
        return got


def test_bulk_posts_nothing_older_than_what_another_run_posted_meanwhile(tmp_path, capsys, env):
    reset()
    seen: list[_ReviewedElsewhere] = []

    @asynccontextmanager
    async def racing(connection, poll_seconds):
        async with connect_anthropic_batches(connection, poll_seconds) as client:
            seen.append(_ReviewedElsewhere(client))
            yield seen[-1]

    with cassette("test_github_bulk_superseded.yaml") as cass:
        code, out, err = bulk(capsys, tmp_path / "out", "7", "8", connect_batches=racing)
    assert_replayed(cass)
    assert seen[0].other == EXIT_OK
    assert code == EXIT_OK, err
    posted = [(p, r["commit_id"]) for p, _, r in reviews_posted(cass)]
    # the other run's review of the new head, then the bulk run's of #7; none of #8's old head after it
    assert posted == [(f"/repos/{REPO}/pulls/8/reviews", PUSHED_HEAD), (f"/repos/{REPO}/pulls/7/reviews", OPENED_HEAD)]
    [line8] = [ln for ln in out.splitlines() if ln.startswith(f"{REPO}#8: ")]
    assert (f"Another run reviewed {PUSHED_HEAD[:12]} after this run read the pull request; this review of "
            f"{OPENED_HEAD[:12]} is older and was not posted.") in line8
    assert (tmp_path / "out" / "002-pr8.md").is_file()                 # the review is kept, not posted


def test_bulk_posts_a_partial_review_and_exits_5(tmp_path, capsys, env):
    # one batch item of the first batch errors (cachesim's fault plan): that PR's review is partial, and posted
    control("/_reset", {"fault_plan": []})
    reset_cachesim({**FAST, "fault_plan": [{"match": {"nth": 1}, "status": 529, "message": "Overloaded"}]})
    with cassette("test_github_bulk_partial.yaml") as cass:
        code, out, err = bulk(capsys, tmp_path / "out", "7", "8")
    assert_replayed(cass)
    assert code == EXIT_PARTIAL, err
    assert [p for p, _, _ in reviews_posted(cass)] == [f"/repos/{REPO}/pulls/7/reviews", f"/repos/{REPO}/pulls/8/reviews"]
    lines = out.splitlines()
    assert sum("PARTIAL" in line for line in lines) == 1 and all("Posted " in line for line in lines)
    partial = next(r for _, _, r in reviews_posted(cass) if "**Partial review:**" in r["body"])
    assert read_markers(partial["body"], "summary")[0]["head"] == OPENED_HEAD
