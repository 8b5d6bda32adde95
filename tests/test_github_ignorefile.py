"""`.reviewbot/ignore.toml`: validation, matching, the proposed entry, and reading it from the base."""
from __future__ import annotations

import tomllib

import pytest

from reviewbot.errors import ConfigError
from reviewbot.github.ignorefile import (
    IGNORE_FILE,
    fetch_ignore,
    parse_ignore,
    proposal,
)

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
