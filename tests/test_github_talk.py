"""End to end: talking to reviewbot on the PR (commands, replies in its threads), replayed.

Recorded against ghsim and cachesim like tests/test_github_e2e.py, whose harness this reuses. People
act through ghsim's `/_act` while recording; the webhook payload of each act (`/_event`) is saved
under tests/data/github/events/talk/ so the replay, which has no server, reads the same event.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from cassette import RECORDING, reset_cachesim
from test_github_e2e import (
    GHSIM,
    NUMBER,
    REPO,
    REVIEWS,
    SYNC_MODEL,
    assert_replayed,
    calls,
    cassette,
    control,
    event_file,
    github_writes,
    reset,
    run_bot,
)

from reviewbot.github import conversation as conv
from reviewbot.github.markers import read_markers

TALK = Path(__file__).parent / "data" / "github" / "events" / "talk"
ISSUE_COMMENTS = f"/repos/{REPO}/issues/{NUMBER}/comments"


def _post(path: str, body: dict) -> dict:
    req = urllib.request.Request(GHSIM + path, data=json.dumps(body).encode(), method="POST")
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def _get(path: str) -> dict:
    return json.loads(urllib.request.urlopen(GHSIM + path, timeout=30).read())


def act(tmp_path: Path, name: str, kind: str, who: str = "alice", perm: str = "write", **fields) -> Path:
    """A person acts on the PR (recording) and the event file of that act (recorded or replayed)."""
    saved = TALK / f"{name}.json"
    if RECORDING:
        body = {"as": who, "action": fields.pop("action", kind), "repo": REPO, "number": NUMBER, **fields}
        if perm != "write":
            body["perm"] = perm
        answer = _post("/_act", body)
        event = answer["event"]
        payload = _get(f"/_event?repo={REPO}&number={NUMBER}&kind={event['kind']}&action={event['action']}"
                       f"&id={answer['result']['id']}")
        payload = json.loads(json.dumps(payload).replace(GHSIM, "http://127.0.0.1:8810"))
        saved.write_text(json.dumps(payload, indent=1) + "\n")
    path = tmp_path / f"{name}.json"
    path.write_text(saved.read_text())
    return path


def bot_comment_ids() -> list[int]:
    """The bot's inline comments (recording only: ghsim's state)."""
    state = _get("/_state")
    return [c["id"] for c in state["review_comments"] if c["user"]["login"].endswith("[bot]")
            and c.get("in_reply_to_id") is None]


def talk(monkeypatch, capsys, tmp_path, event: Path, kind: str, *args: str):
    return run_bot(monkeypatch, capsys, tmp_path, event, *args, event_name=kind)


def _answers(cass) -> list[str]:
    return [json.loads(c[3])["body"] for c in github_writes(cass) if c[:2] == ("POST", ISSUE_COMMENTS)]


def test_help_from_a_collaborator_is_answered_once_and_a_stranger_is_ignored(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_talk_help.yaml") as cass:
        ev = act(tmp_path, "help", "issue_comment", body="/reviewbot help")
        first = talk(monkeypatch, capsys, tmp_path, ev, "issue_comment")
        again = talk(monkeypatch, capsys, tmp_path, ev, "issue_comment")
        n_before = len(cass.requests) if not RECORDING else None
        stranger = act(tmp_path, "help-stranger", "issue_comment", who="mallory", perm="read",
                       body="/reviewbot full-review")
        n = len(calls(cass))
        ignored = talk(monkeypatch, capsys, tmp_path, stranger, "issue_comment")
        assert len(calls(cass)) == n                       # not one request for a stranger's command
    assert_replayed(cass)
    del n_before
    assert first.code == 0 and again.code == 0 and ignored.code == 0, first.err
    payload = json.loads(ev.read_text())
    writes = github_writes(cass)
    reactions = [c for c in writes if c[1].endswith(f"/issues/comments/{payload['comment']['id']}/reactions")]
    assert len(reactions) == 1 and json.loads(reactions[0][3])["content"] == "eyes"
    [answer] = _answers(cass)                               # one answer, and the re-run posts nothing
    assert "`/reviewbot pause`" in answer and conv.read_markers(answer, "conv") == [{"re": payload["comment"]["id"]}]
    assert again.outputs["skipped"] == "already-answered"
    assert ignored.outputs["skipped"] == "not-collaborator" and "no write access" in ignored.err


def test_pause_stops_automatic_reviews_and_resume_restarts_them(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_pause.yaml") as cass:
        pause = act(tmp_path, "pause", "issue_comment", body="/reviewbot pause")
        paused = talk(monkeypatch, capsys, tmp_path, pause, "issue_comment")
        skipped = run_bot(monkeypatch, capsys, tmp_path, opened, *SYNC_MODEL)
        resume = act(tmp_path, "resume", "issue_comment", body="Thanks.\n/reviewbot resume")
        resumed = talk(monkeypatch, capsys, tmp_path, resume, "issue_comment")
        reviewed = run_bot(monkeypatch, capsys, tmp_path, opened, *SYNC_MODEL)
    assert_replayed(cass)
    assert paused.code == resumed.code == skipped.code == reviewed.code == 0, reviewed.err
    assert skipped.outputs["skipped"] == "paused" and "paused" in skipped.err
    pause_answer, resume_answer = _answers(cass)
    assert conv.read_markers(pause_answer, "conv")[0]["pause"] is True
    assert conv.read_markers(resume_answer, "conv")[0]["pause"] is False
    reviews = [c for c in github_writes(cass) if c[:2] == ("POST", REVIEWS)]
    assert len(reviews) == 1 and reviewed.outputs["skipped"] == ""          # only after resume


def test_wont_fix_resolves_the_thread_and_the_finding_stays_silent_after_a_push(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_dismiss.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, opened, *SYNC_MODEL)
        root = bot_comment_ids()[0] if RECORDING else 0
        ev = act(tmp_path, "wontfix", "pull_request_review_comment", action="reply", comment=root,
                 body="Won't fix: this is intended.")
        stranger = act(tmp_path, "wontfix-stranger", "pull_request_review_comment", action="reply", comment=root,
                       who="mallory", perm="read", body="false positive")
        n = len(calls(cass))
        ignored = talk(monkeypatch, capsys, tmp_path, stranger, "pull_request_review_comment")
        assert len(calls(cass)) == n
        dismissed = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment")
        again = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment")
        second = act(tmp_path, "wontfix-second", "pull_request_review_comment", action="reply", comment=root,
                     body="Acknowledged, really.")
        once = talk(monkeypatch, capsys, tmp_path, second, "pull_request_review_comment")
        control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
        full = act(tmp_path, "full-review", "issue_comment", body="/reviewbot full-review")
        rerun = talk(monkeypatch, capsys, tmp_path, full, "issue_comment", *SYNC_MODEL)
    assert_replayed(cass)
    assert first.code == 0 and dismissed.code == 0 and again.code == 0 and ignored.code == 0, dismissed.err
    assert rerun.code == 0, rerun.err
    root = json.loads(ev.read_text())["comment"]["in_reply_to_id"]
    first_review = json.loads(next(c[3] for c in calls(cass) if c[:2] == ("POST", REVIEWS)))
    inline = {c["body"]: c for c in first_review["comments"]}
    fps = {m["fp"]: m["t"] for body in inline for m in read_markers(body, "finding")}
    writes = github_writes(cass)
    replies = [c for c in writes if c[1].endswith(f"/comments/{root}/replies")]
    [reply] = replies                                       # one answer; the re-run posts nothing
    [marker] = conv.read_markers(json.loads(reply[3])["body"], "conv")
    fp = marker["sup"][0]
    assert fp in fps and again.outputs["skipped"] == "already-answered"
    assert once.outputs["skipped"] == "already-answered"          # one answer per thread
    # dismissed on this PR only (ghsim has no other): no ignore-file entry proposed, one listing of the PRs read
    assert "[[fingerprints]]" not in json.loads(reply[3])["body"]
    assert sum(1 for c in calls(cass) if c[:2] == ("GET", f"/repos/{REPO}/pulls")) == 1
    assert ignored.outputs["skipped"] == "not-collaborator"
    assert any(c[1] == "/graphql" and "resolveReviewThread(" in c[3] for c in writes)
    # the full review after the push: the suppressed finding is posted nowhere again
    later = [c for c in writes if c[:2] == ("POST", REVIEWS)][1:] + [c for c in writes if c[0] == "PUT"]
    assert later, "the full review posted nothing"
    assert all(fp not in c[3] for c in later)
    [done] = [a for a in _answers(cass) if "A full review" in a]
    assert "new finding(s)" in done
    assert conv.read_markers(done, "conv") == [{"re": json.loads(full.read_text())["comment"]["id"]}]


def test_ignore_names_a_finding_by_its_title_and_review_is_incremental(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_ignore.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, opened, *SYNC_MODEL)
        review = json.loads(next(c[3] for c in calls(cass) if c[:2] == ("POST", REVIEWS)))
        fp = read_markers(review["comments"][0]["body"], "finding")[0]["fp"]       # an inline finding
        ev = act(tmp_path, "ignore", "issue_comment", body=f"/reviewbot ignore {fp[:10]}")
        ignored = talk(monkeypatch, capsys, tmp_path, ev, "issue_comment")
        miss = act(tmp_path, "ignore-miss", "issue_comment", body="/reviewbot ignore no such finding at all")
        missed = talk(monkeypatch, capsys, tmp_path, miss, "issue_comment")
        review_ev = act(tmp_path, "review", "issue_comment", body="/reviewbot review")
        reviewed = talk(monkeypatch, capsys, tmp_path, review_ev, "issue_comment", *SYNC_MODEL)
    assert_replayed(cass)
    assert first.code == ignored.code == missed.code == 0 and reviewed.code in (0, 1), reviewed.err
    hit, nothing, done = _answers(cass)
    assert conv.read_markers(hit, "conv")[0]["sup"] == [fp] and "Ignoring" in hit and "[[fingerprints]]" not in hit
    assert sum(1 for c in github_writes(cass) if c[1] == "/graphql" and "resolveReviewThread(" in c[3]) == 1
    assert "No single open finding matches" in nothing and "sup" not in conv.read_markers(nothing, "conv")[0]
    assert "A review of the new commits" in done and "already reviewed" in done.lower()
    assert "already reviewed" in reviewed.err                  # nothing pushed: the incremental review is a no-op
    assert len([c for c in github_writes(cass) if c[:2] == ("POST", REVIEWS)]) == 1


def test_a_command_in_a_review_body_is_answered_once(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_talk_review_event.yaml") as cass:
        ev = act(tmp_path, "review-body", "pull_request_review", action="review", event="COMMENT",
                 body="Looks fine.\n/reviewbot help")
        first = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review")
        again = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review")
    assert_replayed(cass)
    assert first.code == again.code == 0, first.err
    [answer] = _answers(cass)
    assert "`/reviewbot help`" in answer
    assert conv.read_markers(answer, "conv") == [{"re": json.loads(ev.read_text())["review"]["id"]}]
    assert not any(c[1].endswith("/reactions") for c in github_writes(cass))     # GitHub has no reactions on reviews
    assert again.outputs["skipped"] == "already-answered"


def test_an_edited_comment_and_a_comment_without_a_command_post_nothing(tmp_path, capsys, monkeypatch):
    reset()
    with cassette("test_github_talk_quiet.yaml") as cass:
        plain = act(tmp_path, "plain", "issue_comment", body="LGTM, thanks")
        n = len(calls(cass))
        quiet = talk(monkeypatch, capsys, tmp_path, plain, "issue_comment")
        payload = json.loads(plain.read_text())
        payload["action"] = "edited"
        payload["comment"]["body"] = "/reviewbot full-review"
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps(payload))
        again = talk(monkeypatch, capsys, tmp_path, edited, "issue_comment")
        assert len(calls(cass)) == n
    assert quiet.outputs["skipped"] == "no-command" and again.outputs["skipped"] == "action"


def test_a_thumbs_down_suppresses_the_finding_and_the_reactions_are_counted(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_reactions.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, opened, *SYNC_MODEL)
        roots = bot_comment_ids() if RECORDING else [0, 0]
        if RECORDING:
            _post("/_act", {"as": "alice", "action": "react", "comment": roots[0], "content": "-1"})
            _post("/_act", {"as": "alice", "action": "react", "comment": roots[-1], "content": "+1"})
            _post("/_act", {"as": "mallory", "perm": "read", "action": "react", "comment": roots[-1], "content": "-1"})
            _post("/_act", {"as": "alice", "action": "issue_comment", "repo": REPO, "number": NUMBER,
                            "body": "Thanks for the review."})
        control("/_push", {"repo": REPO, "number": NUMBER, "ref": "pr2"})
        sync = run_bot(monkeypatch, capsys, tmp_path, event_file(tmp_path, "widgets-7-synchronize"), *SYNC_MODEL)
        full = act(tmp_path, "full-review-after-reactions", "issue_comment", body="/reviewbot full-review")
        rerun = talk(monkeypatch, capsys, tmp_path, full, "issue_comment", *SYNC_MODEL)
    assert_replayed(cass)
    assert first.code == 0 and sync.code == 0 and rerun.code == 0, sync.err
    review = json.loads(next(c[3] for c in calls(cass) if c[:2] == ("POST", REVIEWS)))
    inline = [read_markers(c["body"], "finding")[0] for c in review["comments"]]
    down = inline[0]["fp"]
    feedback = json.loads(sync.outputs["feedback"])
    # alice's 👎 and 👍 count; mallory (no write access) counts for nothing: her comments show no access, and
    # GitHub is asked about her permission (ghsim has no such endpoint: a 404, which is no)
    asked = [c for c in calls(cass) if c[1] == f"/repos/{REPO}/collaborators/mallory/permission"]
    assert asked and all(c[2] == 404 for c in asked)
    assert sum(v["down"] for v in feedback.values()) == 1 and sum(v["up"] for v in feedback.values()) == (
        1 if len(inline) > 1 else 0)
    assert feedback.get(inline[0]["sp"], {}).get("down") == 1
    later = [c for c in github_writes(cass) if c[:2] == ("POST", REVIEWS)][1:]
    assert all(down not in c[3] for c in later)                    # never posted again, not even by a full review
    edits = [json.loads(c[3])["body"] for c in github_writes(cass) if c[0] == "PUT"]
    assert edits and "**Feedback:**" in edits[-1] and "👎 1" in edits[-1]


# ------------------------------------------------------------------ questions in the bot's threads


# The answer call names answer_thread in tool_choice, which cachesim's scripted model follows; only
# models that take a forced tool_choice with thinking allow it (Sonnet 5.5 answers a forced tool with a
# 400, so there the prompt asks for the tool and tool_choice stays as in the review).
ANSWER_MODEL = ("--model", "claude-sonnet-5")


def _messages(cass) -> list[dict]:
    return [json.loads(c[3]) for c in calls(cass) if c[1] == "/v1/messages"]


def _thread_replies(cass, root: int) -> list[str]:
    return [json.loads(c[3])["body"] for c in github_writes(cass) if c[1].endswith(f"/comments/{root}/replies")]


def _ask(tmp_path, name: str, root: int, body: str, who: str = "alice", perm: str = "write") -> Path:
    return act(tmp_path, name, "pull_request_review_comment", action="reply", comment=root, who=who, perm=perm,
               body=body)


def test_a_question_in_a_bot_thread_gets_exactly_one_answer_over_the_warm_prefix(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_question.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, opened, *ANSWER_MODEL)
        root = bot_comment_ids()[0] if RECORDING else 0
        stranger = _ask(tmp_path, "question-stranger", root, "Why is this a problem?", who="mallory", perm="read")
        n = len(calls(cass))
        ignored = talk(monkeypatch, capsys, tmp_path, stranger, "pull_request_review_comment", *ANSWER_MODEL)
        assert len(calls(cass)) == n                       # nothing at all for a non-collaborator
        ev = _ask(tmp_path, "question", root, "Why is this a problem? The caller checks the value first.")
        answered = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment", *ANSWER_MODEL)
        again = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment", *ANSWER_MODEL)
        second = _ask(tmp_path, "question-second", root, "I still disagree: the value cannot be negative.")
        once = talk(monkeypatch, capsys, tmp_path, second, "pull_request_review_comment", *ANSWER_MODEL)
    assert_replayed(cass)
    # one agent call in all: neither the re-run nor the second objection calls the model again
    [n_model] = [i for i, m in enumerate(_messages(cass)) if m.get("tool_choice")]
    assert len(_messages(cass)) == n_model + 1
    assert first.code == ignored.code == answered.code == again.code == once.code == 0, answered.err
    assert ignored.outputs["skipped"] == "not-collaborator"
    payload = json.loads(ev.read_text())
    root = payload["comment"]["in_reply_to_id"]
    [answer] = _thread_replies(cass, root)                 # exactly one answer; the re-run posts nothing
    [marker] = conv.read_markers(answer, "conv")
    assert marker["re"] == payload["comment"]["id"] and marker["th"] == root
    assert "The finding stands." in answer or "I withdraw this finding" in answer
    assert again.outputs["skipped"] == "already-answered" and once.outputs["skipped"] == "already-answered"
    # the answer call: the review's tools, system prompt and shared-context messages, then the thread
    request = _messages(cass)[n_model]
    review = next(m for m in _messages(cass)[:n_model] if m["messages"][-1]["role"] == "user")
    assert request["tools"] == review["tools"] and request["system"] == review["system"]
    assert [t["name"] for t in request["tools"]][-1] == "answer_thread"
    assert request["tool_choice"] == {"type": "tool", "name": "answer_thread"}   # claude-sonnet-5 takes it
    asked = request["messages"][-1]["content"][0]["text"]
    assert "The caller checks the value first." in asked and '<untrusted-data source="thread">' in asked
    assert "usage: 1 call" in answered.err and "cached prefix reused" in answered.err
    assert float(answered.outputs["cost"]) > 0


def test_a_disagreement_is_weighed_once_and_a_cold_prefix_is_said_to_be_cold(tmp_path, capsys, monkeypatch):
    reset()
    opened = event_file(tmp_path, "widgets-7-opened")
    with cassette("test_github_talk_disagree.yaml") as cass:
        first = run_bot(monkeypatch, capsys, tmp_path, opened, *ANSWER_MODEL)
        root = bot_comment_ids()[-1] if RECORDING else 0
        reset_cachesim()                                   # the review's prefix is gone from the cache: cold
        ev = _ask(tmp_path, "disagree", root, "I disagree: this is correct, the list is never empty here.")
        dry = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment", *ANSWER_MODEL, "--dry-run")
        answered = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment", *ANSWER_MODEL)
        again = talk(monkeypatch, capsys, tmp_path, ev, "pull_request_review_comment", *ANSWER_MODEL)
    assert_replayed(cass)
    assert first.code == answered.code == again.code == 0, answered.err
    assert "cached prefix not reused: cold" in answered.err
    assert dry.code == 0 and dry.outputs["skipped"] == "dry-run"         # --dry-run: no call, nothing posted
    assert len([m for m in _messages(cass) if m.get("tool_choice")]) == 1
    root = json.loads(ev.read_text())["comment"]["in_reply_to_id"]
    [answer] = _thread_replies(cass, root)
    [marker] = conv.read_markers(answer, "conv")
    if "I withdraw this finding" in answer:                # withdrawn: suppressed on the PR, thread resolved
        assert marker["sup"] and any(c[1] == "/graphql" and "resolveReviewThread(" in c[3]
                                     for c in github_writes(cass))
    else:
        assert "The finding stands." in answer and "sup" not in marker
    assert again.outputs["skipped"] == "already-answered"
    assert "@" not in answer.replace("@\u200b", "")        # the model's text cannot ping anyone
