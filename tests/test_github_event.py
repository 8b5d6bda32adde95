"""Reading what GitHub Actions hands the step: the event payload and the GITHUB_* variables."""
import json
from pathlib import Path

import pytest

from reviewbot.errors import ConfigError, InputError
from reviewbot.github.event import ActionsEnv, manual_event, parse_event, read_event

EVENTS = Path(__file__).parent / "data" / "github" / "events"


def payload(name="widgets-7-opened"):
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_a_ghsim_payload_parses():
    e = parse_event(payload(), "pull_request")
    assert (e.repository, e.number, e.action, e.draft, e.state) == ("acme/widgets", 7, "opened", False, "open")
    assert len(e.head_sha) == 40 and len(e.base_sha) == 40 and e.author == "alice"
    assert e.wants_review and not e.from_fork and not e.restricted


def test_synchronize_payload():
    e = read_event(str(EVENTS / "widgets-7-synchronize.json"), "pull_request")
    assert e.action == "synchronize" and e.wants_review


def test_forks_and_dependabot_are_restricted():
    p = payload()
    p["pull_request"]["head"]["repo"]["full_name"] = "mallory/widgets"
    assert parse_event(p, "pull_request").from_fork
    p = payload()
    p["pull_request"]["head"]["repo"] = None                 # the fork was deleted
    assert parse_event(p, "pull_request").restricted
    p = payload()
    p["pull_request"]["user"]["login"] = "dependabot[bot]"
    e = parse_event(p, "pull_request")
    assert e.restricted and not e.from_fork


@pytest.mark.parametrize("action, wanted", [("opened", True), ("synchronize", True), ("reopened", True),
                                            ("ready_for_review", True), ("closed", False), ("labeled", False)])
def test_which_actions_ask_for_a_review(action, wanted):
    p = payload()
    p["action"] = action
    assert parse_event(p, "pull_request").wants_review is wanted


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("pull_request"), "has no pull_request"),
    (lambda p: p["pull_request"].pop("number"), "'pull_request.number' is missing"),
    (lambda p: p["pull_request"].__setitem__("number", "7"), "'pull_request.number' must be an integer"),
    (lambda p: p["pull_request"]["head"].__setitem__("sha", "HEAD; rm -rf /"), "is not a commit id"),
    (lambda p: p["repository"].__setitem__("full_name", "../../etc"), "is not owner/name"),
])
def test_bad_payloads_are_one_line_input_errors(mutate, message):
    p = payload()
    mutate(p)
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as e:
        parse_event(p, "pull_request")
    assert "\n" not in str(e.value)


def test_event_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH is not set"):
        read_event("", "pull_request")
    with pytest.raises(InputError, match="event file not found"):
        read_event(str(tmp_path / "nope.json"), "pull_request")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_event(str(bad), "pull_request")
    bad.write_text("[]")
    with pytest.raises(InputError, match="not a JSON object"):
        read_event(str(bad), "push")


def test_manual_event_and_env():
    e = manual_event("acme/widgets", 7)
    assert e.wants_review and not e.restricted and e.head_sha == ""
    with pytest.raises(ConfigError):
        manual_event("acme", 7)
    env = ActionsEnv.from_environ({"GITHUB_TOKEN": "ghs_secret", "GITHUB_API_URL": "https://ghe.example/api/v3/",
                                   "GITHUB_ACTIONS": "true"})
    assert env.api_url == "https://ghe.example/api/v3" and env.in_actions and env.token == "ghs_secret"
    assert "ghs_secret" not in repr(env)
    assert ActionsEnv.from_environ({}).api_url == "https://api.github.com"
