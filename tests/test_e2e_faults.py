"""Faults on the API: 429, 529 and 500 on a fifth of the calls change nothing in the review.

Recorded against cachesim with the fault plan below; the SDK's retries (with backoff, honouring
retry-after) are replayed from the cassette, failures included.
"""
import json

import pytest
from cassette import CASSETTES, api_key, api_url, cassette, reset_cachesim
from corpus import clone

from reviewbot.cli import main

FAULT_PLAN = [{"match": {"nth": 2}, "status": 429, "retry_after": 0.05},
              {"match": {"nth": 4}, "status": 529, "retry_after": 0.05},
              {"match": {"nth": 5}, "status": 500, "retry_after": 0.05}]


def _findings(tmp_path, capsys, cassette_name, name):
    repo, _ = clone("express-6522", tmp_path / name)
    with cassette(cassette_name):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--format", "json", "-q"])
    review = json.loads(capsys.readouterr().out)
    return code, review


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key())
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api_url())


def test_faults_are_retried_and_the_review_is_the_same(tmp_path, capsys, env):
    reset_cachesim({"fault_plan": FAULT_PLAN})
    code, faulty = _findings(tmp_path, capsys, "test_e2e_faults.yaml", "faulty")
    reset_cachesim()
    clean_code, clean = _findings(tmp_path, capsys, "test_e2e_review_express-6522.yaml", "clean")
    assert code == clean_code == 0 and faulty["complete"]
    def key(f):
        return (f["fingerprint"], f["line"], f["severity"])
    assert sorted(map(key, faulty["findings"])) == sorted(map(key, clean["findings"]))
    assert faulty["usage"]["totals"]["calls"] == clean["usage"]["totals"]["calls"]   # failures are not billed


def test_the_cassette_really_holds_the_faults():
    body = (CASSETTES / "test_e2e_faults.yaml").read_text()
    for status in ("429", "529", "500"):
        assert f"code: {status}" in body
