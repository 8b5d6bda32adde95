"""Committed secrets: found on added lines, reported masked, never echoed whole by the bot."""
import asyncio
import json

import pytest
from helpers import change, model_finding, submit

from reviewbot.change.parse import parse_diff
from reviewbot.config import Config
from reviewbot.output.render import render
from reviewbot.pipeline.review import run_review
from reviewbot.secrets import mask, scan

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


def test_a_secret_is_a_finding_and_never_echoed_whole(tmp_path, scripted):
    ch = _change([f'TOKEN = "{GH_TOKEN}"', "DEBUG = True"])
    echo = submit(model_finding(path="app/settings.py", line=1, title=f"Token {GH_TOKEN} in code",
                           explanation=f"The value {GH_TOKEN} is live.", suggestion=f"TOKEN = '{GH_TOKEN}'"),
                  overview=f"Leaks {GH_TOKEN}.")
    result = asyncio.run(run_review(ch, Config(routing="all"), scripted({"*": echo}), tmp_path / "ws"))
    scanner = [f for f in result.findings if f.specialist == "secret-scan"]
    assert scanner and scanner[0].path == "app/settings.py" and scanner[0].line == 1
    for fmt in ("markdown", "json"):
        out = render(result, fmt)
        assert GH_TOKEN not in out and "ghp_…" in out
    assert GH_TOKEN not in json.dumps([f.__dict__ for s in result.raw.values() if s for f in s.findings])



def test_only_a_scanner_finding_calls_no_summary_agent_and_sets_the_verdict_floor(tmp_path, scripted):
    t = scripted({"*": submit()})              # the specialists raise nothing; the scanner finds the token
    result = asyncio.run(run_review(_change([f'TOKEN = "{GH_TOKEN}"']), Config(routing="all"), t, tmp_path / "ws"))
    assert "summary" not in {who for who, _, _ in t.requests} and result.summary is None
    assert [f.specialist for f in result.findings] == ["secret-scan"]
    assert result.verdict != "no_issues"                      # derived from the scanner's finding
    assert any("summary agent was not run: nothing to verify" in n for n in result.notes)


# ---------------------------------------------------------------------------------------------
# detection: the twelve styles of the hostile corpus, every naming style, and what is not a secret

import hostile_corpus as hc  # noqa: E402

from reviewbot.domain.change import Change, ChangeMeta  # noqa: E402
from reviewbot.domain.findings import Finding  # noqa: E402
from reviewbot.secrets import (  # noqa: E402
    findings,
    hunk_shows_secret,
    known_secrets,
    redact_finding,
    redact_json,
    redact_output,
)


def _file_diff(path, lines, removed=()):
    body = "".join(f"-{x}\n" for x in removed) + "".join(f"+{x}\n" for x in lines)
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -1,{len(removed)} +1,{len(lines)} @@\n{body}")


def _one(path, lines, removed=()):
    return Change(ChangeMeta(title="t"), parse_diff(_file_diff(path, lines, removed)))


@pytest.mark.parametrize("cred", hc.CREDENTIALS, ids=lambda c: c.style)
def test_each_of_the_twelve_styles_is_found_with_its_whole_value(cred):
    lines = (["-----BEGIN RSA PRIVATE KEY-----", *cred.value.split("\n"), "-----END RSA PRIVATE KEY-----"]
             if "\n" in cred.value else ["# settings", cred.text])
    found = scan(_one(cred.path, lines))
    assert [s.value for s in found] == [cred.value], found
    f = findings(found)[0]
    assert f.specialist == "secret-scan" and f.severity == "high" and f.placement == "inline"
    assert all(v not in f.title + f.explanation for v in cred.quotable)


@pytest.mark.parametrize("line", [
    "DB_PASSWORD=Kq9xT2mWvL7p", "export DB_PASSWORD=Kq9xT2mWvL7p", 'dbPassword = "Kq9xT2mWvL7p"',
    "db-password: Kq9xT2mWvL7p", "db.password=Kq9xT2mWvL7p", '"apiKey": "Kq9xT2mWvL7pZr4s"',
    "STRIPE_API_KEY: Kq9xT2mWvL7pZr4s", "x-api-key: Kq9xT2mWvL7pZr4s", "aws_secret_access_key = Kq9xT2mWvL7pZr4s",
    "AWS_SECRET_ACCESS_KEY='Kq9xT2mWvL7pZr4s'", 'clientSecret: "Kq9xT2mWvL7pZr4s"', "$token = 'Kq9xT2mWvL7pZr4s';",
    "auth_token := \"Kq9xT2mWvL7pZr4s\"", "'password' => 'Kq9xT2mWvL7p',",
])
def test_keyword_named_assignments_in_every_naming_style(line):
    assert [s.value for s in scan(_one("conf/settings.txt", [line]))] in (["Kq9xT2mWvL7p"], ["Kq9xT2mWvL7pZr4s"])


@pytest.mark.parametrize("line", [
    'password = "changeme"', 'api_key = "${API_KEY}"', 'secret = "xxxxxxxxxx"', "password = os.environ['DB_PASSWORD']",
    "token = get_token(request)", "PASSWORD_FILE=/run/secrets/db", 'app.secret_key = "secret_key"',
    'etag = "6ff6a73c0e446c1f61614769e3ceb778"', 'url = "http://user:pass@example.com/x"', "password = self.password",
    "SECRET_KEY = settings.SECRET_KEY", 'password: "{{ vault_password }}"', 'raise ValueError("invalid password")',
    'commit = "9b3af74f9c1e8d6a5b4c3d2e1f0a9b8c7d6e5f4a"', "api_key: <your-api-key>", "tokenizer = 'bert-base-uncased'",
])
def test_placeholders_references_and_digests_are_not_secrets(line):
    assert scan(_one("src/app.py", [line])) == ()


def test_env_files_flag_secret_names_and_high_entropy_values_only():
    found = scan(_one("deploy/.env.staging", ["DEBUG=true", "PORT=8080", "SESSION_SECRET=Kq9xT2mWvL7pZr4s",
                                                "OPAQUE=Zr4sKq9xT2mWvL7pQ8nB3cD", "GREETING=hello world"]))
    assert [(s.line, s.value) for s in found] == [(3, "Kq9xT2mWvL7pZr4s"), (4, "Zr4sKq9xT2mWvL7pQ8nB3cD")]


def test_a_secret_deleted_and_added_again_is_still_reported():
    line = hc.MOVED.text
    found = scan(_one("legacy/settings.py", ["DEBUG = False", line], removed=[line, "DEBUG = False"]))
    assert [s.value for s in found] == [hc.MOVED.value] and "removed line" in found[0].note


def test_a_secret_added_then_removed_inside_a_series_is_reported_on_its_file():
    c = _one("app.py", ["x = 1"])
    history = (("add the key", parse_diff(_file_diff("app.py", ["x = 1", hc.CREDENTIALS[7].text]))),
               ("drop the key", parse_diff(_file_diff("app.py", ["x = 1"], removed=["x = 1", hc.CREDENTIALS[7].text]))))
    c = Change(c.meta, c.files, history=history)
    found = scan(c)
    assert [(s.value, s.line) for s in found] == [(hc.CREDENTIALS[7].value, 0)]
    assert "add the key" in found[0].note and findings(found)[0].placement == "file"
    assert hc.CREDENTIALS[7].value in known_secrets(c)


def test_known_secrets_cover_removed_and_context_lines_the_metadata_and_full_files():
    c = _one("a.py", ["x = 1"], removed=[hc.CREDENTIALS[1].text])
    c = Change(ChangeMeta(title=f"fix {hc.CREDENTIALS[6].value}", description=hc.CREDENTIALS[8].text), c.files,
               sources=(("b.py", hc.CREDENTIALS[11].text),))
    known = known_secrets(c)
    for cred in (hc.CREDENTIALS[1], hc.CREDENTIALS[6], hc.CREDENTIALS[8], hc.CREDENTIALS[11]):
        assert cred.value in known
    assert scan(c) == ()                                   # none of them is committed by this change


# ---------------------------------------------------------------------------------------------
# redaction


def test_redaction_masks_known_values_also_json_escaped():
    weird = 'p@ss"w\\rd-9Xq2Lk'
    out = redact_output(f'said {weird} and {json.dumps(weird)}', [weird])
    assert weird not in out and json.dumps(weird)[1:-1] not in out and "…[redacted 16 chars]" in out


@pytest.mark.parametrize("cred", hc.CREDENTIALS[4:9] + hc.CREDENTIALS[11:], ids=lambda c: c.style)
def test_a_secret_nobody_found_is_masked_by_its_shape(cred):
    out = redact_output(f"The model invented: {cred.text}", ())
    assert cred.value not in out


def test_keyword_assignments_and_key_blocks_are_masked_by_pattern():
    key = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n"
           "-----END OPENSSH PRIVATE KEY-----")
    cut = "and a cut one -----BEGIN RSA PRIVATE KEY-----\\nMIIEow"
    out = redact_output(f"db_password: 'Kq9xT2mWvL7p'\n{key}\n{cut}", ())
    assert "Kq9xT2mWvL7p" not in out and "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE" not in out and "MIIEow" not in out


def test_redaction_is_idempotent_and_leaves_ordinary_text_alone():
    text = ("Use `hashlib.sha256` (prefix sha256 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0); "
            "set password from the environment; token = get_token().")
    assert redact_output(text, ()) == text
    once = redact_output(f"{hc.CREDENTIALS[6].text} {hc.CREDENTIALS[0].text}", [hc.CREDENTIALS[0].value])
    assert redact_output(once, [hc.CREDENTIALS[0].value]) == once


def test_a_suggestion_that_holds_a_secret_is_withheld_not_masked():
    f = Finding("security", "a.py", 1, "high", "secret", f"Key {GH_TOKEN}", f"Uses {GH_TOKEN}", 0.9,
                suggestion=f'TOKEN = "{GH_TOKEN}"')
    g = redact_finding(f, [GH_TOKEN])
    assert g.suggestion is None and "withheld" in g.note and GH_TOKEN not in g.title + g.explanation
    assert redact_finding(replace_suggestion(f, "TOKEN = os.environ['TOKEN']"), [GH_TOKEN]).suggestion


def replace_suggestion(f, s):
    from dataclasses import replace
    return replace(f, suggestion=s)


def test_redact_json_walks_keys_and_values():
    doc = {GH_TOKEN: [f"x {GH_TOKEN}", 3, None, {"k": GH_TOKEN}]}
    assert GH_TOKEN not in json.dumps(redact_json(doc, [GH_TOKEN]))


def test_an_inline_comment_whose_hunk_shows_a_secret_is_detected():
    c = _one("a.py", ["x = 1", hc.CREDENTIALS[6].text, "y = 2"])
    known = known_secrets(c)
    assert not hunk_shows_secret(c, "a.py", 1, known)
    assert hunk_shows_secret(c, "a.py", 2, known) and hunk_shows_secret(c, "a.py", 3, known)


def test_scans_in_threads_at_once_find_what_one_scan_finds():
    # detect-secrets keeps its settings in process-wide globals; the reviews of a bulk run scan in
    # worker threads at once. Unlocked, concurrent scans dropped secrets (a third to most of them).
    import threading

    from reviewbot.secrets.detect import detect
    lines = [(i, f'password = "Xk9#{i}vQ2mLp8Zr4"' if i % 7 == 0 else f"x{i} = compute({i})")
             for i in range(1, 3000)]
    expected = list(detect("app.py", lines))
    results: list[list[tuple[int, str, str]]] = []

    def scan() -> None:
        for _ in range(3):
            results.append(list(detect("app.py", lines)))
    threads = [threading.Thread(target=scan) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(expected) == 428 and len(results) == 24
    assert all(r == expected for r in results)
