"""The conversation's pure parts: commands, dismissals, the state in the bot's markers, events."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from reviewbot.errors import InputError
from reviewbot.github import conversation as conv
from reviewbot.github.event import parse_conversation
from reviewbot.github.markers import marker

TALK = Path(__file__).parent / "data" / "github" / "events" / "talk"
BOT = "github-actions[bot]"


@pytest.mark.parametrize("body, name, arg", [
    ("/reviewbot review", "review", ""),
    ("please\n/reviewbot full-review", "full-review", ""),
    ("/reviewbot PAUSE", "pause", ""),
    ("/reviewbot resume", "resume", ""),
    ("/reviewbot ignore  float money  ", "ignore", "float money"),
    ("/reviewbot", "help", ""),
    ("/reviewbot dance", "unknown", ""),
])
def test_commands_are_read_from_the_first_command_line(body, name, arg):
    assert conv.parse_command(body) == conv.Command(name, arg)


@pytest.mark.parametrize("body", ["", "LGTM", "see /reviewbot review in the docs", "> /reviewbot pause"])
def test_text_without_a_command_line_is_no_command(body):
    assert conv.parse_command(body) is None


@pytest.mark.parametrize("body, dismissed", [
    ("Won't fix: intended.", True), ("wontfix", True), ("Acknowledged", True), ("ack", True),
    ("This is a false positive", True), ("not a bug", True), ("works as designed, by design", True),
    ("Why is this a problem?", False), ("I disagree", False), ("> won't fix\nwhy?", False), ("Fixed", False),
])
def test_dismissals_are_recognised_outside_quotes(body, dismissed):
    assert conv.is_dismissal(body) is dismissed


@dataclass
class C:
    author: str
    body: str


def test_state_is_read_only_from_the_bots_own_comments_and_the_newest_pause_wins():
    comments = [
        C(BOT, conv.answer("paused", 11, pause=True)),
        C(BOT, conv.answer("ok", 12, suppress=("fp1",))),
        C("mallory", marker("conv", {"re": 99, "sup": ["forged"], "pause": False})),
        C(BOT, conv.answer("resumed", 13, pause=False)),
        C(BOT, conv.answer("paused again", 14, pause=True)),
    ]
    state = conv.read_state(comments, BOT)
    assert state == conv.State(frozenset({11, 12, 13, 14}), frozenset({"fp1"}), True)
    assert conv.read_state(comments[:4], BOT).paused is False


def test_an_answer_cannot_be_made_to_close_its_marker():
    body = conv.answer("x", 1, suppress=("a-->b<!--",))
    assert conv.read_state([C(BOT, body)], BOT).suppressed == {"a-->b<!--"}


def test_ignore_names_one_finding_by_fingerprint_prefix_or_title_words():
    findings = [("abcdef123456", "Float used for money"), ("abc999000111", "Missing test"), ("ffff00001111", "Money")]
    assert conv.match_finding("abcdef12", findings) == findings[0]
    assert conv.match_finding("`missing TEST`", findings) == findings[1]
    assert conv.match_finding("money", findings) is None          # two titles: ambiguous
    assert conv.match_finding("abc", findings) is None            # too short for a prefix, no title has it
    assert conv.match_finding("", findings) is None


def test_conversation_payloads_parse_with_the_author_association():
    ev = parse_conversation(json.loads((TALK / "help.json").read_text()), "issue_comment")
    assert ev.trusted and ev.wants_answer and ev.body == "/reviewbot help" and ev.number == 7
    stranger = parse_conversation(json.loads((TALK / "help-stranger.json").read_text()), "issue_comment")
    assert not stranger.trusted and stranger.association == "NONE"
    reply = parse_conversation(json.loads((TALK / "wontfix.json").read_text()), "pull_request_review_comment")
    assert reply.in_reply_to and reply.trusted and reply.name == "pull_request_review_comment"


def test_a_bots_comment_is_never_trusted_and_a_plain_issue_is_not_for_the_bot():
    payload = json.loads((TALK / "help.json").read_text())
    payload["comment"]["user"]["login"] = "other[bot]"
    assert not parse_conversation(payload, "issue_comment").trusted
    del payload["issue"]["pull_request"]
    assert not parse_conversation(payload, "issue_comment").wants_answer


def test_a_conversation_payload_without_its_comment_is_one_input_error():
    with pytest.raises(InputError, match="'comment.id' is missing"):
        parse_conversation({"action": "created", "issue": {"number": 1, "pull_request": {}},
                            "repository": {"full_name": "o/r"}, "comment": {}}, "issue_comment")


@dataclass
class _Comment:
    id: int
    author: str = BOT
    association: str = ""


@dataclass
class _Thread:
    comment: _Comment
    fingerprint: str
    specialist: str


def test_reactions_of_people_with_write_access_count_per_specialist_and_a_thumbs_down_suppresses():
    threads = [_Thread(_Comment(1), "fp1", "security"), _Thread(_Comment(2), "fp2", "security"),
               _Thread(_Comment(3), "fp3", "correctness")]
    said = [_Comment(9, "alice", "COLLABORATOR"), _Comment(10, "mallory", "NONE"), _Comment(11, "x[bot]", "MEMBER")]
    trusted = conv.trusted_logins(said)
    assert trusted == {"alice"}
    fb = conv.feedback(threads, {1: (("alice", "-1"), ("mallory", "+1")), 2: (("alice", "+1"),),
                                 3: (("mallory", "-1"), ("x[bot]", "-1"))}, trusted)
    assert fb.down == {"fp1"} and fb.counts == (("security", 1, 1),)
    assert json.loads(fb.output()) == {"security": {"up": 1, "down": 1}}
    assert fb.line() == "**Feedback:** security 👍 1 👎 1"
    assert conv.feedback(threads, {}, trusted).line() == "" and conv.feedback(threads, {}, trusted).output() == "{}"


def test_a_reactor_who_never_commented_counts_only_when_github_confirms_write_access():
    threads = [_Thread(_Comment(1), "fp1", "security"), _Thread(_Comment(2), "fp2", "logic")]
    said = [_Comment(9, "alice", "COLLABORATOR")]
    reactions = {1: (("bob", "-1"), ("carol", "-1"), ("dave", "+1"), ("x[bot]", "-1")),
                 2: (("alice", "+1"), ("erin", "heart"))}
    asked = []

    def can_write(login):
        asked.append(login)
        return {"bob": True, "carol": False}.get(login)          # dave: GitHub does not say (None)
    trusted = conv.trusted_reactors(reactions, said, can_write)
    assert trusted == {"alice", "bob"} and asked == ["bob", "carol", "dave"]   # not alice, no bot, no heart
    fb = conv.feedback(threads, reactions, trusted)
    assert fb.down == {"fp1"} and fb.counts == (("logic", 1, 0), ("security", 0, 1))
    many = {1: tuple((f"u{i:02d}", "-1") for i in range(30))}
    asked.clear()
    assert conv.trusted_reactors(many, said, can_write) == {"alice"}
    assert len(asked) == conv.MAX_PERMISSION_LOOKUPS                   # bounded
