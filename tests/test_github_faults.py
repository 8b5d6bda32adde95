"""GitHub failing half-way, and two runs at once: exactly one review per reviewed head, every
finding posted once, nothing paid for lost.

Each test runs the bot on acme/widgets#7, pushes `pr2`, and runs the `synchronize` review with one
write failing (the review POST, the summary PUT, a DELETE, a "Fixed in" reply, the GraphQL resolve),
then runs the same event again, as a re-run of the job does. The failing request is picked by its
number in ghsim's fault plan: while recording, a first pass without faults finds which request that
write is (ghsim's ledger), and the recorded pass fails exactly that one. The GitHub retries are off
(`retries=0`), so one injected answer is one failed write; the retries themselves are tested in
test_github_gh.py. Replaying needs no server; at the end of each test the PR is read back (inside
the cassette) and the assertions are on what is on it: reviews, comments, threads, markers.
"""
from __future__ import annotations

import functools
import json
import re
import threading
import urllib.request
from dataclasses import replace

import pytest
from cassette import CASSETTES, RECORDING, api_key, api_url
from test_github_e2e import (
    BOT,
    GHSIM,
    NUMBER,
    OPENED_HEAD,
    PUSHED_HEAD,
    REPO,
    api,
    assert_no_token,
    assert_replayed,
    calls,
    cassette,
    control,
    event_file,
    is_write,
    reset,
    run_bot,
    runs,
)

from reviewbot.cli import parser
from reviewbot.commands import github as cmd
from reviewbot.github import run as github_run
from reviewbot.github.api import GitHubSettings
from reviewbot.github.bodies import CostState, UpdateText, _body_findings
from reviewbot.github.markers import read_markers
from reviewbot.github.plan import plan_run
from reviewbot.github.post import Draft, post_review
from reviewbot.github.prior import Prior, read_prior

TARGETS = {
    "review": lambda r: r["method"] == "POST" and r["path"].endswith(f"/pulls/{NUMBER}/reviews"),
    "summary": lambda r: r["method"] == "PUT" and "/reviews/" in r["path"],
    "delete": lambda r: r["method"] == "DELETE",
    "reply": lambda r: r["method"] == "POST" and r["path"].endswith("/replies"),
    "resolve": lambda r: r["path"].endswith("/graphql") and (r.get("graphql") or {}).get("operation") == "mutation",
}


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    monkeypatch.setattr(github_run, "GitHubSettings", functools.partial(GitHubSettings, retries=0, backoff=0,
                                                                  sleep=lambda s: None))


@pytest.fixture
def delete_fixed(monkeypatch):
    """As if the base branch's .reviewbot.toml said `delete_fixed_comments = true`."""
    real = github_run.read_pull

    def read(*a, **kw):
        pr = real(*a, **kw)
        return replace(pr, config=replace(pr.config, delete_fixed_comments=True))
    monkeypatch.setattr(github_run, "read_pull", read)


def ledger() -> list[dict]:
    with urllib.request.urlopen(GHSIM + "/_ledger", timeout=30) as r:
        return [x for x in json.load(r)["requests"] if x.get("n") is not None]


def scenario(monkeypatch, capsys, tmp_path, after_first=None):
    first = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"))
    if after_first:
        after_first()
    control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
    sync = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"))
    again = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"))
    return first, sync, again


def alice_answers():
    """alice answers the bot's first comment on discounts.py (the push rewrites that file)."""
    if not RECORDING:
        return                                # a control call: not part of the cassette
    state = json.load(urllib.request.urlopen(GHSIM + "/_state", timeout=30))
    c = next(c for c in state["review_comments"] if c["path"] == "src/widgets/discounts.py")
    control("/_act", {"as": "alice", "action": "reply", "comment": c["id"], "body": "Good catch, will fix."})


def on_the_pr():
    gh = api()
    reviews, comments, threads = gh.reviews(), gh.review_comments(), gh.threads()
    return reviews, comments, threads, read_prior(reviews, comments, BOT, threads)


def assert_once_per_head_and_finding(reviews, comments, prior):
    # (a reply to a review comment is a review of its own on GitHub, with an empty body: not counted)
    mine = [r for r in reviews if r.author == BOT and (read_markers(r.body, "summary")
                                                       or read_markers(r.body, "update"))]
    heads = [r.commit_id for r in mine]
    assert heads.count(OPENED_HEAD) == 1 and heads.count(PUSHED_HEAD) <= 1        # one review per head
    assert not prior.duplicates and not prior.pending                            # all folded into the summary
    assert prior.reviewed == PUSHED_HEAD
    roots = [c for c in comments if c.author == BOT and c.in_reply_to is None]
    fps = [read_markers(c.body, "finding")[-1]["fp"] for c in roots]
    body_fps = [b.fingerprint for r in mine for b in _body_findings(r.body)
                if r.id != prior.summary.id]                                   # updates' bodies
    summary_fps = [b.fingerprint for b in prior.body_findings]
    assert len(fps) == len(set(fps)) and len(summary_fps) == len(set(summary_fps))
    assert not set(fps) & set(summary_fps)                                    # inline or in the body, not both
    assert set(body_fps) <= set(summary_fps)                                  # an update's body is in the summary
    # each fixed finding got exactly one "Fixed in" reply
    fixed = [read_markers(c.body, "fixed")[-1]["fp"] for c in comments if read_markers(c.body, "fixed")]
    assert len(fixed) == len(set(fixed))
    return fixed


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_failed_write_is_completed_by_the_rerun_never_repeated(target, tmp_path, capsys, monkeypatch, request):
    if target == "delete":
        request.getfixturevalue("delete_fixed")
    after_first = alice_answers if target in ("reply", "resolve") else None
    name = f"test_github_fault_{target}.yaml"
    if RECORDING:                            # a first pass finds the number of the request to fail
        reset()
        (tmp_path / "dry").mkdir()
        scenario(monkeypatch, capsys, tmp_path / "dry", after_first)
        log = ledger()
        sync_start = [i for i, r in enumerate(log) if r["path"].endswith("/user")][1]
        n = next(r["n"] for r in log[sync_start:] if TARGETS[target](r))
        reset([{"match": {"nth": n}, "status": 502, "message": "Server Error"}])
    with cassette(name) as cass:
        first, sync, again = scenario(monkeypatch, capsys, tmp_path, after_first)
        reviews, comments, threads, prior = on_the_pr()
    assert_replayed(cass)
    assert first.code == 0, first.err
    failed = [c for c in calls(cass) if c[2] == 502]
    assert len(failed) == 1 and is_write(failed[0])
    # the failure is one line with GitHub's status and message, never a traceback
    assert "Traceback" not in sync.err and "502" in sync.err and "Server Error" in sync.err
    if target in ("review", "summary"):
        assert sync.code == 4 and sync.err.count("reviewbot: error:") <= 1
    else:                                    # cleanup is best effort: the review stands
        assert sync.code == 0 and "warning:" in sync.err and "the next run retries it" in sync.err
    assert again.code == 0, again.err
    fixed = assert_once_per_head_and_finding(reviews, comments, prior)
    # nothing paid for is lost: a run whose review landed is completed, not redone (two paid runs:
    # opened and synchronize). Only a review that never landed is reviewed again by the re-run.
    assert CostState.of(prior.state).runs == 2
    if target == "review":
        assert float(again.outputs["cost"]) > 0 and again.outputs["skipped"] == ""
    else:
        assert again.outputs["skipped"] == "already-reviewed" and again.outputs["cost"] == "0.000000"
        assert again.outputs["findings"] == sync.outputs["findings"]
    if target == "summary":                  # completed with the failed run's own cost line, not "0 calls"
        assert "· 0 calls ·" not in prior.summary.body and "over 2 reviews of this pull request" in prior.summary.body
    if target in ("reply", "resolve"):       # the fixed threads were answered and resolved in the end
        by_root = {t.root: t for t in threads}
        settled = [t for t in prior.threads if t.fixed]
        assert settled and all(by_root[t.comment.id].resolved for t in settled)
        assert len(fixed) == len(settled)
    if target == "delete":
        outdated = [t for t in prior.threads if t.comment.outdated and not t.answered and not t.fixed]
        assert outdated == []                                    # deleted in the end


def test_a_token_that_cannot_resolve_answers_and_says_why(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_resolve_forbidden.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"))
        control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
        sync = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"),
                       token=NO_CONTENTS_TOKEN)
        reviews, comments, threads, prior = on_the_pr()
    assert_replayed(cass)
    assert first.code == 0 and sync.code == 0, sync.err
    assert "contents: write" in sync.err and sync.err.count("Resource not accessible by integration") == 1
    answered = [t for t in prior.threads if t.fixed]
    assert answered and not any(t.resolved for t in threads)            # answered, not resolved
    assert len([c for c in calls(cass) if "resolveReviewThread(" in c[3]]) == 1   # tried once, not per thread
    text = (CASSETTES / "test_github_resolve_forbidden.yaml").read_text()
    assert NO_CONTENTS_TOKEN not in text and NO_CONTENTS_TOKEN not in sync.err + sync.summary
    assert_no_token(text, sync.err, sync.summary)


NO_CONTENTS_TOKEN = "ghs_rbTestNoContents"


def test_two_runs_at_once_post_one_review(tmp_path, capsys, monkeypatch):
    """Two `reviewbot github` steps on the same event at once. Both pass the re-check before either
    review lands (ghsim holds each write 1 s while recording), both post, and the later review
    withdraws itself. So that the cassette replays the same way, the test fixes the order of what
    is not the race: the second run starts when the first is about to post (so both re-check before
    either review lands), both post at once (a barrier), and they reconcile in turn."""
    import vcr.cassette

    control("/_reset", {"fault_plan": [], "write_latency": 1 if RECORDING else 0})
    reset_cache_only()
    event = event_file(tmp_path, "widgets-7-opened")
    envs = [{"GITHUB_OUTPUT": str(tmp_path / f"out-{i}"), "GITHUB_STEP_SUMMARY": str(tmp_path / f"sum-{i}")}
            for i in range(2)]
    base = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_API_URL": GHSIM, "GITHUB_TOKEN": "ghs_rbTestWrite",
            "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event),
            "ANTHROPIC_API_KEY": api_key(), "ANTHROPIC_BASE_URL": api_url()}
    for k, v in base.items():
        monkeypatch.setenv(k, v)
    me = threading.local()
    turns = {"rec": [threading.Event(), threading.Event(), threading.Event()]}
    turns["rec"][0].set()
    first_ready = threading.Event()
    both = threading.Barrier(2, timeout=120)

    def in_turn(kind, fn):
        def wrapped(*a, **kw):
            turns[kind][me.i].wait(120)
            try:
                return fn(*a, **kw)
            finally:
                turns[kind][me.i + 1].set()
        return wrapped

    real_post = post_review

    def post_at_once(*a, **kw):
        first_ready.set()
        both.wait()
        return real_post(*a, **kw)

    lock = threading.Lock()
    real_play = vcr.cassette.Cassette.play_response

    def play(self, request):                   # vcrpy counts plays without a lock
        with lock:
            return real_play(self, request)

    monkeypatch.setattr(github_run, "_reconcile", in_turn("rec", github_run._reconcile))
    monkeypatch.setattr(github_run, "post_review", post_at_once)
    monkeypatch.setattr(vcr.cassette.Cassette, "play_response", play)
    codes = {}
    try:
        with cassette("test_github_concurrent.yaml") as cass:
            def one(i):
                me.i = i
                args = parser().parse_args(["github", "--github-throttle", "0"])
                codes[i] = cmd.run(args, envs[i]).exit_code
            runs = [threading.Thread(target=one, args=(i,)) for i in range(2)]
            runs[0].start()
            first_ready.wait(120)
            runs[1].start()
            for t in runs:
                t.join()
            reviews, comments, threads, prior = on_the_pr()
    finally:
        capsys.readouterr()
        control("/_reset", {"write_latency": 0})
    assert_replayed(cass)
    assert codes == {0: 0, 1: 0}
    mine = [r for r in reviews if r.author == BOT and r.body]
    summaries = [r for r in mine if read_markers(r.body, "summary")]
    assert len(summaries) == 1                                           # one summary review
    roots = [c for c in comments if c.author == BOT and c.in_reply_to is None]
    fps = [read_markers(c.body, "finding")[-1]["fp"] for c in roots]
    body = [b.fingerprint for b in _body_findings(summaries[0].body)]
    assert fps and len(fps) == len(set(fps)) and len(body) == len(set(body))   # each fingerprint once
    assert not prior.duplicates and not prior.dup_comments
    outs = [dict(ln.split("=", 1) for ln in (tmp_path / f"out-{i}").read_text().splitlines()) for i in range(2)]
    assert sorted(o["skipped"] for o in outs) == ["", "already-reviewed"]
    assert {o["findings"] for o in outs} == {str(len(fps) + len(body))}
    # both passed the re-check and posted (the race happened); the later one withdrew and is hidden
    assert len(mine) == 2
    loser = max(mine, key=lambda r: r.id)
    assert read_markers(loser.body, "withdrawn") and not read_markers(loser.body, "finding")
    assert not [c for c in comments if c.review_id == loser.id]
    assert any("minimizeComment(" in c[3] and "DUPLICATE" in c[3] for c in calls(cass))


def reset_cache_only():
    from cassette import reset_cachesim
    reset_cachesim()


def test_after_a_422_the_outputs_equal_a_clean_runs(tmp_path, capsys, monkeypatch):
    """GitHub refuses the review once (422): every comment moves to the body and the review is sent
    again. The counts on stderr and in the outputs are those of a clean run of the same review."""
    reset()
    with cassette("test_github_422_outputs.yaml") as cass:
        clean = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"))
        reset([{"match": {"method": "POST", "path_regex": "/reviews$"}, "status": 422, "times": 1,
                "message": "Unprocessable Entity"}])
        refused = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-opened"))
    assert_replayed(cass)
    assert clean.code == refused.code == 0, refused.err
    posts = [c for c in calls(cass) if c[0] == "POST" and c[1].endswith("/reviews")]
    assert [c[2] for c in posts] == [200, 422, 200]
    assert json.loads(posts[1][3])["comments"] and not json.loads(posts[2][3])["comments"]
    for key in ("findings", "new-findings", "highest-severity"):
        assert refused.outputs[key] == clean.outputs[key], key
    assert int(clean.outputs["findings"]) == int(clean.outputs["new-findings"]) > 0
    said = [re.search(r"(\d+) new finding\(s\)", ln).group(1) for ln in (clean.err + refused.err).splitlines()
            if " new finding(s)" in ln]
    assert len(said) == 2 and said[0] == said[1]


def test_a_thread_a_person_resolved_stays_resolved(tmp_path, capsys, monkeypatch):
    """alice resolves each of the bot's first threads before the push; the synchronize run leaves
    them resolved and says nothing in them (a finding reported again and worse would reopen one,
    with a reply: the only change allowed)."""
    reset()

    def alice_resolves():
        if RECORDING:
            state = json.load(urllib.request.urlopen(GHSIM + "/_state", timeout=30))
            for c in state["review_comments"]:
                if c["user"]["login"] == BOT and not c.get("in_reply_to_id"):
                    control("/_act", {"as": "alice", "action": "resolve", "comment": c["id"]})

    with cassette("test_github_human_resolved.yaml") as cass:
        first, sync, again = scenario(monkeypatch, capsys, tmp_path, alice_resolves)
        reviews, comments, threads, prior = on_the_pr()
    assert_replayed(cass)
    assert first.code == sync.code == again.code == 0, sync.err
    first_roots = {t.comment.id for t in prior.threads if t.comment.review_id == prior.summary.id}
    by_root = {t.root: t for t in threads}
    assert first_roots and all(by_root[r].resolved_by == "alice" for r in first_roots)
    for t in prior.threads:
        if t.comment.id in first_roots:
            mine = [r for r in t.replies if r.author == BOT]
            assert all(read_markers(r.body, "reopened") for r in mine)       # never "Fixed in" there
            assert by_root[t.comment.id].resolved or mine
    assert not [c for c in calls(cass) if "unresolveReviewThread(" in c[3]] or any(
        read_markers(c.body, "reopened") for c in comments)


def test_an_exact_repeat_is_posted_once(tmp_path):
    """A summary-agent finding identical to a specialist's (same path, lines, category, title)."""
    from reviewbot.domain.findings import Finding
    from reviewbot.github.source import pull_change
    reset()
    with cassette("test_github_exact_repeat.yaml") as cass:
        gh = api()
        pull = gh.pull()
        chg = pull_change(pull, REPO, gh.files(), gh.commits())
        spec = Finding(specialist="correctness", path="src/widgets/discounts.py", line=5, severity="medium",
                       category="bug", title="Discount can go negative", explanation="x", confidence=0.9)
        again = replace(spec, specialist="summary", explanation="The same, said by the summary agent.")
        general = replace(spec, line=0, title="Tests are missing", category="tests")
        plan = plan_run((spec, again, general, replace(general, specialist="summary")), chg, Prior(),
                            pull.head_sha, True)
        draft = Draft(pull.head_sha, plan.inline, plan.body_new, UpdateText(pull.head_sha, pull.head_sha, (), "m"), "k")
        post_review(gh, draft, BOT)
        comments, reviews = gh.review_comments(), gh.reviews()
    assert_replayed(cass)
    assert plan.folded == 2
    fps = [read_markers(c.body, "finding")[-1]["fp"] for c in comments]
    body = [b.fingerprint for r in reviews for b in _body_findings(r.body)]
    assert fps == [spec.fingerprint] and body == [general.fingerprint]


def test_with_a_state_dir_the_rerun_after_a_failed_review_post_pays_nothing_again(tmp_path, capsys, monkeypatch):
    """The one write whose failure leaves nothing on GitHub is the review POST itself. With
    --state-dir (the Action keeps it in the Actions cache), the failed run has saved every reviewer
    as it finished: the re-run posts the review without a single model call."""
    def three_runs(root, state):
        root.mkdir(exist_ok=True)
        flags = ("--state-dir", str(state))
        first = run_bot(monkeypatch, capsys, root, event_file(root, "widgets-7-opened"), *flags)
        control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
        sync = run_bot(monkeypatch, capsys, root, event_file(root, "widgets-7-synchronize"), *flags)
        again = run_bot(monkeypatch, capsys, root, event_file(root, "widgets-7-synchronize"), *flags)
        return first, sync, again

    if RECORDING:                            # a first pass finds the number of the review POST to fail
        reset()
        three_runs(tmp_path / "dry", tmp_path / "dry-state")
        log = ledger()
        sync_start = [i for i, r in enumerate(log) if r["path"].endswith("/user")][1]
        n = next(r["n"] for r in log[sync_start:] if TARGETS["review"](r))
        reset([{"match": {"nth": n}, "status": 502, "message": "Server Error"}])
    state = tmp_path / "state"
    with cassette("test_github_fault_review_state.yaml") as cass:
        first, sync, again = three_runs(tmp_path / "run", state)
        reviews, comments, threads, prior = on_the_pr()
    assert_replayed(cass)
    assert first.code == 0 and sync.code == 4 and again.code == 0, again.err
    _, sync_calls, again_calls = runs(cass)
    assert any(c[1] == "/v1/messages" for c in sync_calls)                 # the failed run paid for its review
    assert not any(c[1].startswith("/v1/") for c in again_calls)            # the re-run paid nothing again
    assert sum(1 for c in again_calls if c[:2] == ("POST", f"/repos/{REPO}/pulls/{NUMBER}/reviews")) == 1
    assert again.outputs["findings"] and again.outputs["skipped"] == ""
    assert_once_per_head_and_finding(reviews, comments, prior)
    saved = list(state.glob("*/state/*.json"))
    assert saved and all("Traceback" not in p.read_text() for p in saved)
