"""Committed secrets: found on added lines, reported masked, never echoed whole by the bot."""
import asyncio
import json

import pytest

from reviewbot.change.parse import parse_diff
from reviewbot.config import Config
from reviewbot.publish.render import render
from reviewbot.review import run_review
from reviewbot.secrets import mask, scan

from helpers import change
from test_orchestrator import ScriptedTransport, _finding, submit

# Built at run time so that no committed file holds a token-shaped literal.
GH_TOKEN = "gh" + "p_" + "Ab1" * 12 + "Zz"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
PASSWORD = "s3cr" + "et-Kq9!zLw2"


def _diff(lines):
    body = "".join(f"+{x}\n" for x in lines)
    return (f"diff --git a/app/settings.py b/app/settings.py\n--- a/app/settings.py\n+++ b/app/settings.py\n"
            f"@@ -1,0 +1,{len(lines)} @@\n{body}")


def _change(lines):
    c = change()
    return type(c)(c.meta, parse_diff(_diff(lines)))


def test_scan_finds_known_token_shapes_and_assignments_but_not_placeholders():
    found = scan(_change([f'TOKEN = "{GH_TOKEN}"', f"aws_key = '{AWS_KEY}'", f'password = "{PASSWORD}"',
                          'password = "changeme"', 'api_key = "${API_KEY}"', 'secret = "xxxxxxxxxx"',
                          "-----BEGIN RSA PRIVATE KEY-----", "x = 1"]))
    assert [(s.kind, s.line) for s in found] == [("GitHub token", 1), ("AWS access key id", 2),
                                                 ("secret in a keyword-named assignment", 3), ("private key", 7)]


def test_mask_shows_four_characters():
    assert mask(GH_TOKEN).startswith("ghp_") and GH_TOKEN not in mask(GH_TOKEN)


def test_a_secret_is_a_finding_and_never_echoed_whole(tmp_path):
    ch = _change([f'TOKEN = "{GH_TOKEN}"', "DEBUG = True"])
    echo = submit(_finding(path="app/settings.py", line=1, title=f"Token {GH_TOKEN} in code",
                           explanation=f"The value {GH_TOKEN} is live.", suggestion=f"TOKEN = '{GH_TOKEN}'"),
                  overview=f"Leaks {GH_TOKEN}.")
    result = asyncio.run(run_review(ch, Config(routing="all"), ScriptedTransport({"*": echo}), tmp_path / "ws"))
    scanner = [f for f in result.findings if f.specialist == "secret-scan"]
    assert scanner and scanner[0].path == "app/settings.py" and scanner[0].line == 1
    for fmt in ("markdown", "json"):
        out = render(result, fmt)
        assert GH_TOKEN not in out and "ghp_…" in out
    assert GH_TOKEN not in json.dumps([f.__dict__ for s in result.raw.values() if s for f in s.findings])
