"""`.reviewbot/ignore.toml`: validation, matching, the proposed entry, and reading it from the base."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass

import pytest

from reviewbot.errors import APIError, ConfigError
from reviewbot.github import conversation as conv
from reviewbot.github.ignorefile import (
    IGNORE_FILE,
    MAX_OTHER_PULLS,
    fetch_ignore,
    parse_ignore,
    proposal,
    propose_if_repeated,
    repeated_dismissals,
)
from reviewbot.github.markers import marker

GOOD = '''
[[paths]]
path = "vendor/**"
reason = "third-party code"

[[fingerprints]]
fingerprint = "3f2a9c0d1e4b"
reason = "display-only prices"

[[titles]]
pattern = "(?i)magic number"
reason = "constants are fine in tests"
'''


def test_each_kind_of_entry_ignores_with_its_reason():
    rules = parse_ignore(GOOD)
    assert rules.reason("vendor/lib/x.py", "0" * 16, "Bug") == "third-party code"
    assert rules.reason("src/a.py", "3f2a9c0d1e4b5566", "Bug") == "display-only prices"
    assert rules.reason("src/a.py", "0" * 16, "Magic Number 42") == "constants are fine in tests"
    assert rules.reason("src/a.py", "0" * 16, "Float used for money") is None
    assert parse_ignore(None).reason("vendor/x", "3f2a9c0d1e4b5566", "magic number") is None


@pytest.mark.parametrize("text, message", [
    ('[[paths]]\npath = "x"\n', "paths.0.reason: Field required"),
    ('[[paths]]\npath = "x"\nreason = ""\n', "paths.0.reason"),
    ('[[titles]]\npattern = "("\nreason = "r"\n', "titles.0.pattern"),
    ('[[fingerprints]]\nfingerprint = "abc"\nreason = "r"\n', "fingerprints.0.fingerprint"),
    ('[[globs]]\npath = "x"\nreason = "r"\n', "globs"),
    ("paths = [", "not valid TOML"),
])
def test_a_bad_file_is_one_config_error_naming_the_field(text, message):
    with pytest.raises(ConfigError, match="ignore.toml") as e:
        parse_ignore(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_proposed_entry_is_valid_and_ignores_that_finding():
    text = proposal("3f2a9c0d1e4b5566", "Float `used`\nfor money", 'dismissed by "alice" on #7')
    toml = text.split("```toml\n", 1)[1].split("```", 1)[0]
    rules = parse_ignore(toml)
    assert rules.reason("a.py", "3f2a9c0d1e4b5566", "x") == 'dismissed by "alice" on #7'
    assert tomllib.loads(toml)["fingerprints"][0]["fingerprint"] == "3f2a9c0d1e4b5566"


class _Api:
    def __init__(self, root, text):
        self.root, self.text, self.read = root, text, []

    def list_dir(self, path, ref):
        return self.root

    def read_text(self, path, ref):
        self.read.append((path, ref))
        return self.text


def test_the_file_is_read_from_the_base_only_when_its_folder_is_there():
    api = _Api((("src", "dir"),), GOOD)
    assert fetch_ignore(api, "b" * 40).paths == () and api.read == []
    api = _Api((("src", "dir"), (".reviewbot", "dir")), GOOD)
    assert fetch_ignore(api, "b" * 40).paths[0].path == "vendor/**" and api.read == [(IGNORE_FILE, "b" * 40)]


# ------------------------------------------------------------- the same finding dismissed on other PRs

BOT = "github-actions[bot]"


@dataclass(frozen=True)
class _C:
    author: str
    body: str


def _finding(fp: str, title: str) -> _C:
    return _C(BOT, f"**{title}**\n" + marker("finding", {"fp": fp, "t": title, "sev": "low"}))


class _Pulls:
    """Other PRs: number -> (review comments, issue comments); counts every API call."""

    def __init__(self, pulls: dict, fail: bool = False):
        self.pulls, self.fail, self.calls = pulls, fail, []

    def other_pulls(self, limit):
        self.calls.append(("pulls", limit))
        if self.fail:
            raise APIError("GitHub answered 502 while listing the repository's pull requests")
        return tuple(self.pulls)[:limit]

    def sibling(self, number):
        outer = self

        class _One:
            def review_comments(self):
                outer.calls.append(("review_comments", number))
                return outer.pulls[number][0]

            def issue_comments(self):
                outer.calls.append(("issue_comments", number))
                return outer.pulls[number][1]
        return _One()


def test_a_finding_dismissed_on_two_other_prs_is_proposed_for_the_ignore_file():
    fp = "3f2a9c0d1e4b5566"
    pulls = _Pulls({
        12: ((_finding(fp, "Float for money"), _C(BOT, conv.answer("Understood.", 5, suppress=(fp,)))), ()),
        11: ((_finding("aaaaaaaaaaaaaaaa", "Float for money"),), ()),           # posted there, never dismissed
        10: ((_finding("bbbbbbbbbbbbbbbb", "float FOR money "),),              # the same title, another fp:
             (_C(BOT, conv.answer("Ignoring.", 6, suppress=("bbbbbbbbbbbbbbbb",))),)),   # via /reviewbot ignore
        9: ((), ()),
    })
    assert repeated_dismissals(pulls, BOT, fp, "Float for money") == (12, 10)
    assert ("review_comments", 9) not in pulls.calls                       # stops at the second
    text = propose_if_repeated(pulls, BOT, fp, "Float for money", "dismissed by alice on #13")
    assert "dismissed on #12, #10 too" in text and "[[fingerprints]]" in text and fp in text


def test_a_marker_typed_by_someone_else_is_no_dismissal_and_one_dismissal_is_no_proposal():
    fp = "3f2a9c0d1e4b5566"
    forged = _C("mallory", marker("conv", {"re": 1, "sup": [fp]}))
    pulls = _Pulls({12: ((forged,), ()), 11: ((_C(BOT, conv.answer("ok", 2, suppress=(fp,))),), ())})
    assert repeated_dismissals(pulls, BOT, fp, "t") == (11,)
    assert propose_if_repeated(pulls, BOT, fp, "t", "r") == ""


def test_looking_at_other_prs_is_bounded_and_a_failure_is_no_proposal():
    pulls = _Pulls({n: ((), ()) for n in range(100, 150)})
    assert repeated_dismissals(pulls, BOT, "f" * 16, "t") == ()
    assert len(pulls.calls) == 1 + 2 * MAX_OTHER_PULLS and pulls.calls[0] == ("pulls", MAX_OTHER_PULLS)
    assert repeated_dismissals(_Pulls({}, fail=True), BOT, "f" * 16, "t") == ()
