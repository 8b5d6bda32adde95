"""`--format sarif`: valid SARIF 2.1.0 (the official OASIS schema, vendored in tests/data/sarif) that
GitHub code scanning accepts: every result located, stable rule ids, fingerprints, severity levels."""
import json
from pathlib import Path

import jsonschema
import pytest
from cassette import recorder
from corpus import clone
from test_output_json import META, real_results, synthetic_result  # noqa: F401 (real_results is a fixture)

from reviewbot import __version__
from reviewbot.cli import main
from reviewbot.domain.specialists import NAMES
from reviewbot.output.render import empty_result, render
from reviewbot.output.sarif import FINGERPRINT_KEY, LEVELS, to_sarif

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
RULE_IDS = [f"reviewbot/{n}" for n in NAMES] + ["reviewbot/summary", "reviewbot/secret-scan"]


def _errors(doc) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


def _github_ready(doc) -> None:
    """What code scanning checks beyond the schema: one run, every result with a repo-relative file
    location and a line, a rule for every ruleId, our fingerprint."""
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        (loc,) = r["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] and not phys["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert phys["region"]["startLine"] >= 1 and phys["region"].get("endLine", 1) >= phys["region"]["startLine"]
        assert len(r["partialFingerprints"][FINGERPRINT_KEY]) == 16
        assert r["message"]["text"]


def test_vendored_schema_is_the_sarif_2_1_0_schema():
    assert SARIF_SCHEMA["$id"].endswith("/sarif-schema-2.1.0.json") and SARIF_SCHEMA["properties"]["version"][
        "enum"] == ["2.1.0"]
    jsonschema.Draft7Validator.check_schema(SARIF_SCHEMA)


def test_real_reviews_validate(real_results):  # noqa: F811 (the fixture imported above)
    for result in real_results:
        doc = json.loads(render(result, "sarif"))
        assert _errors(doc) == []
        _github_ready(doc)
        assert len(doc["runs"][0]["results"]) == len(result.findings) > 0


def test_synthetic_review_validates_with_every_placement():
    result = synthetic_result()
    doc = to_sarif(result)
    assert _errors(doc) == []
    _github_ready(doc)
    results = doc["runs"][0]["results"]
    by_title = {r["message"]["text"].split("\n")[0]: r for r in results}
    inline = by_title["Loop skips the last item"]
    assert inline["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "src/app.py"},
                                                          "region": {"startLine": 10, "endLine": 12}}
    assert "Suggested replacement:\nfor i in range(n):" in inline["message"]["text"]
    assert inline["properties"] == {"specialist": "correctness", "alsoFlaggedBy": ["maintainability"],
                                    "severity": "high", "confidence": 0.9, "category": "off-by-one",
                                    "placement": "inline"}
    assert inline["partialFingerprints"] == {FINGERPRINT_KEY: result.findings[0].fingerprint}
    whole_file = by_title["Module too large"]["locations"][0]["physicalLocation"]
    assert whole_file["region"] == {"startLine": 1, "endLine": 1}
    odd_path = by_title["Stale comment"]["locations"][0]["physicalLocation"]
    assert odd_path["artifactLocation"]["uri"] == "docs/my%20guide%231.md" and odd_path["region"]["startLine"] == 99
    # General findings are anchored on the first reviewed file, and say so.
    for title in ("No changelog entry", "Secret[31m in logs"):
        loc = by_title[title]["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == "src/app.py"
        assert "change as a whole" in loc["message"]["text"]
    assert by_title["Secret[31m in logs"]["properties"]["reportedPath"] == "nowhere/ghost.py"
    assert "\x1b" not in json.dumps(doc) and "\x07" not in json.dumps(doc)
    assert by_title["Possible AWS access key id committed"]["ruleId"] == "reviewbot/secret-scan"


def test_levels_follow_severity():
    assert LEVELS == {"critical": "error", "high": "error", "medium": "warning", "low": "note", "nit": "note"}
    doc = to_sarif(synthetic_result())
    for r, f in zip(doc["runs"][0]["results"], synthetic_result().findings, strict=False):
        assert r["level"] == LEVELS[f.severity] and r["properties"]["severity"] == f.severity


def test_rules_are_stable_whatever_the_findings():
    a = to_sarif(synthetic_result())["runs"][0]["tool"]["driver"]
    b = to_sarif(empty_result(META, "nothing"))["runs"][0]["tool"]["driver"]
    assert [r["id"] for r in a["rules"]] == [r["id"] for r in b["rules"]] == RULE_IDS
    assert a["name"] == "reviewbot" and a["version"] == __version__ and a["informationUri"].startswith("https://")
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] for r in a["rules"])


def test_partial_review_is_flagged_with_notifications():
    run = to_sarif(synthetic_result())["runs"][0]
    (inv,) = run["invocations"]
    assert inv["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in inv["toolExecutionNotifications"]]
    assert texts == ["performance reviewer failed: Anthropic API error 500: boom",
                     "summary reviewer failed: Anthropic API timed out"]
    assert inv["toolExecutionNotifications"][0]["descriptor"] == {"id": "reviewbot/performance", "index": 2}
    assert to_sarif(synthetic_result(agents=(), summary=None))["runs"][0]["invocations"] == [
        {"executionSuccessful": True}]


def test_empty_review_is_a_valid_log_with_no_results():
    doc = to_sarif(empty_result(META, "nothing to review"))
    assert _errors(doc) == [] and doc["runs"][0]["results"] == []


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8787")
    path, _ = clone("express-6522", tmp_path)
    return path


def test_cli_sarif_with_fail_on(repo, capsys):
    """Exit 1 when --fail-on is reached; stdout is nothing but the SARIF document."""
    with recorder().use_cassette("test_e2e_review_express-6522.yaml"):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "sarif",
                     "--fail-on", "nit"])
    out = capsys.readouterr()
    assert code == 1
    doc = json.loads(out.out)
    assert _errors(doc) == [] and doc["runs"][0]["results"]
    assert "usage:" in out.err and "reviewbot:" not in out.out


def test_cli_sarif_when_there_is_nothing_to_review(repo, capsys):
    assert main(["review", "--repo", str(repo), "--base", "pr", "--head", "pr", "--format", "sarif"]) == 0
    out = capsys.readouterr()
    assert _errors(json.loads(out.out)) == [] and "nothing to review" in out.err
