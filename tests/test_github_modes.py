"""`reviewbot github --dry-run` and `--no-post`, live against ghsim and cachesim.

--dry-run sends no model call (cachesim's ledger, which holds every /v1/messages request, stays
empty: the token counts come from count_tokens) and writes nothing on GitHub; --no-post runs the
paid review and writes nothing on GitHub. Both read the same pull request (tests/data/github,
acme/widgets#7). Skipped where ../shared is not beside the repository.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from simulators import cachesim, ghsim, ledger

from reviewbot.cli import main

BUNDLE = Path(__file__).parent / "data" / "github" / "widgets-7.bundle"
TOKEN = "ghs_rbModesWrite"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def _writes(entries: list[dict]) -> list[dict]:
    """Requests that change something on GitHub (a GraphQL query is a POST that reads)."""
    return [x for x in entries if x["method"] in WRITES and (x.get("graphql") or {}).get("operation") != "query"]


def _github_ledger(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/_ledger", timeout=10) as r:
        return [x for x in json.load(r)["requests"] if not x.get("control")]


@pytest.fixture
def simulators(tmp_path, monkeypatch):
    with cachesim() as cs, ghsim("--pr", str(BUNDLE), "--token", f"{TOKEN}=write") as gh:
        env = {"GITHUB_API_URL": gh, "GITHUB_TOKEN": TOKEN, "ANTHROPIC_API_KEY": "test-key",
               "ANTHROPIC_BASE_URL": cs, "GITHUB_OUTPUT": str(tmp_path / "outputs"),
               "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_EVENT_NAME": "workflow_dispatch",
               "GITHUB_REPOSITORY": "acme/widgets"}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        yield cs, gh


def _outputs(tmp_path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (tmp_path / "outputs").read_text().splitlines())


def _bot(*flags: str) -> int:
    return main(["github", "--repo", "acme/widgets", "--pr", "7", "--github-throttle", "0", *flags])


def test_dry_run_sends_no_model_call_and_posts_nothing(simulators, tmp_path, capsys):
    cs, gh = simulators
    code = _bot("--dry-run")
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert ledger(cs) == []                                      # not one /v1/messages request
    reads = _github_ledger(gh)
    assert reads and _writes(reads) == []
    assert "prefix" in cap.out.lower() and "$" in cap.out        # the dry run's report: tokens and cost
    assert "nothing reviewed, nothing posted" in cap.err
    out = _outputs(tmp_path)
    assert out["skipped"] == "dry-run" and out["new-findings"] == "0" and float(out["cost"]) == 0


def test_dry_run_json_is_one_document(simulators, capsys):
    cs, _ = simulators
    assert _bot("--dry-run", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["calls"] and ledger(cs) == []


def test_dry_run_refuses_sarif(simulators, capsys):
    cs, gh = simulators
    assert _bot("--dry-run", "--format", "sarif") == 2
    assert "--dry-run prints markdown or json" in capsys.readouterr().err
    assert ledger(cs) == [] and _github_ledger(gh) == []


def test_no_post_reviews_and_posts_nothing(simulators, tmp_path, capsys):
    cs, gh = simulators
    code = _bot("--no-post", "--format", "json")
    cap = capsys.readouterr()
    assert code in (0, 5), cap.err
    assert len(ledger(cs)) >= 2                                  # the paid review ran
    assert _writes(_github_ledger(gh)) == []
    assert "--no-post: would post" in cap.err
    review = json.loads(cap.out)
    out = _outputs(tmp_path)
    assert out["skipped"] == "no-post" and float(out["cost"]) > 0
    assert int(out["new-findings"]) == len({f["fingerprint"] for f in review["findings"]})


def test_dry_run_and_no_post_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as e:
        _bot("--dry-run", "--no-post")
    assert e.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_a_failure_is_reported_once_where_it_happens(tmp_path):
    """A nested run (a `/reviewbot review` comment) reports its own failure; the conversation
    around it does not report the same error again."""
    from reviewbot.errors import APIError, MissingCredentials
    from reviewbot.github.event import ActionsEnv
    from reviewbot.github.run import Out, _failures

    out = Out(ActionsEnv(output=str(tmp_path / "outputs"), step_summary=str(tmp_path / "summary.md")), True, False)
    boom = APIError("GitHub answered 502 while posting the review")
    with pytest.raises(APIError), _failures(out, "o/r#1"), _failures(out, "o/r#1"):
        raise boom
    lines = (tmp_path / "outputs").read_text().splitlines()
    assert lines.count("skipped=error") == 1
    assert (tmp_path / "summary.md").read_text().count("Failed: GitHub answered 502") == 1
    with pytest.raises(MissingCredentials), _failures(out, "o/r#1"):
        raise MissingCredentials("ANTHROPIC_API_KEY is not set")
    assert (tmp_path / "outputs").read_text().splitlines().count("skipped=no-api-key") == 1
