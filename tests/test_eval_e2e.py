"""End to end: `reviewbot eval` on the test golden set, GitHub and Anthropic replayed together.

The golden set (tests/data/eval/golden.json, benchmark format, golden comments written by hand)
names one PR served through the GitHub API (acme/widgets#7: ghsim while recording, with a
read-only token) and two corpus PRs read from local bundles. The cassettes were recorded against
ghsim and cachesim at once (re-record: tests/data/eval/README.md). The assertions are about
behaviour and arithmetic (every count adds up, the judge's prefix is cached, a rerun makes no call),
not about what the scripted model happened to say.
"""
from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cassette import CASSETTES, RECORDING, api_key, api_url, recorder, reset_cachesim

from reviewbot.cli import main
from reviewbot.llm.usage import cost, usage_from_api

GOLDEN = Path(__file__).parent / "data" / "eval" / "golden.json"
GHSIM = os.environ.get("REVIEWBOT_GHSIM_URL", "http://127.0.0.1:18771") if RECORDING else "http://127.0.0.1:18771"
READ_TOKEN = "ghs_rbEvalRead"                 # ghsim accepts it as read-only while recording (README there)
WIDGETS = "https://github.com/acme/widgets/pull/7"
UNIDIFF = "https://github.com/matiasb/python-unidiff/pull/126"


def _no_control(request):
    return None if urllib.parse.urlparse(request.uri).path.startswith("/_") else request


def cassette(name: str):
    if RECORDING:
        (CASSETTES / name).unlink(missing_ok=True)
        body = json.dumps({"fault_plan": []}).encode()
        urllib.request.urlopen(urllib.request.Request(GHSIM + "/_reset", data=body, method="POST"), timeout=30).read()
        reset_cachesim()
    return recorder().use_cassette(name, before_record_request=_no_control)


def run_eval(monkeypatch, capsys, *args: str, token: str | None = READ_TOKEN, key: str | None = "default"):
    for name, value in (("GITHUB_API_URL", GHSIM), ("GITHUB_TOKEN", token), ("ANTHROPIC_BASE_URL", api_url()),
                        ("ANTHROPIC_API_KEY", api_key() if key == "default" else key)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    code = main(["eval", str(GOLDEN), "--github-throttle", "0", *args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def messages_calls(cass) -> list[tuple[dict, dict]]:
    """(request body, response body) of every /v1/messages call."""
    out = []
    for req, resp in zip(cass.requests, cass.responses, strict=False):
        if urllib.parse.urlparse(req.uri).path == "/v1/messages":
            out.append((json.loads(req.body), _response_json(resp)))
    return out


def _response_json(resp) -> dict:
    """The final message of a streamed (SSE) or plain answer, enough for its usage."""
    body = resp["body"]["string"]
    text = body.decode() if isinstance(body, bytes) else body
    if not text.lstrip().startswith("event:") and not text.lstrip().startswith("data:"):
        return json.loads(text)
    usage: dict = {}
    for line in text.splitlines():
        if line.startswith("data:"):
            ev = json.loads(line[5:])
            if ev.get("type") == "message_start":
                usage.update(ev["message"]["usage"])
            elif ev.get("type") == "message_delta":
                usage.update({k: v for k, v in (ev.get("usage") or {}).items() if v is not None})
    return {"usage": usage}


def is_judge(request: dict) -> bool:
    return [t["name"] for t in request.get("tools", [])] == ["submit_judgment"]


def check_arithmetic(cell: dict) -> None:
    """Every figure of a cell follows from its PRs' counts and matches."""
    prs = [p for p in cell["prs"] if p["error"] is None]
    keys = ("golden", "found", "partial", "candidates", "tp", "duplicates", "fp")
    for k in keys:
        assert cell["overall"][k] == sum(p[k] for p in prs), k
    o = cell["overall"]
    assert o["precision"] == (round(o["tp"] / (o["tp"] + o["fp"]), 4) if o["tp"] + o["fp"] else None)
    assert o["recall"] == round(o["found"] / o["golden"], 4)
    for p in prs:
        assert p["candidates"] == len(p["findings"]) == p["tp"] + p["duplicates"] + p["fp"]
        assert p["golden"] == len(p["golden_comments"])
        linked = {(m["golden"], m["candidate"]) for m in p["matches"]}
        for g in p["golden_comments"]:
            assert g["found_by"] == sorted(c for gg, c in linked if gg == g["id"])
        assert p["found"] == sum(1 for g in p["golden_comments"] if g["found_by"])
        for c in p["findings"]:
            has_link = any(cc == c["id"] for _, cc in linked)
            assert (c["status"] == "fp") == (not has_link)
        assert p["recall"] == round(p["found"] / p["golden"], 4)
    for sev, g in cell["per_golden_severity"].items():
        assert g["golden"] == sum(1 for p in prs for x in p["golden_comments"] if x["severity"] == sev)
    assert sum(s["candidates"] for s in cell["per_finding_severity"].values()) == o["candidates"]
    assert cell["cost"]["review_usd"] == pytest.approx(sum(p["cost"]["review_usd"] for p in cell["prs"]), abs=1e-5)
    assert cell["cost"]["judge_usd"] == pytest.approx(sum(p["cost"]["judge_usd"] for p in cell["prs"]), abs=1e-5)


def test_eval_end_to_end_then_resume(monkeypatch, capsys, tmp_path):
    out = tmp_path / "eval-out"
    with cassette("test_eval_e2e.yaml") as cass:
        code, stdout, err = run_eval(monkeypatch, capsys, "--out", str(out), "--format", "json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc == json.loads((out / "results.json").read_text())
    assert doc["schema_version"] == 1 and doc["judge"]["model"] == "claude-opus-5-5"
    [cell] = doc["cells"]
    assert [p["url"] for p in cell["prs"]] == [json.loads(GOLDEN.read_text())[i]["url"] for i in range(3)]
    assert all(p["error"] is None and p["complete"] for p in cell["prs"])
    check_arithmetic(cell)
    assert cell["overall"]["candidates"] > 0 and cell["overall"]["found"] > 0       # the judge's links were used

    calls = messages_calls(cass)
    judge = [(rq, rs) for rq, rs in calls if is_judge(rq)]
    reviews = [(rq, rs) for rq, rs in calls if not is_judge(rq)]
    # one judge call per PR with findings, over one byte-identical cached prefix (tools + system)
    assert len(judge) == sum(1 for p in cell["prs"] if p["candidates"]) == 3
    assert len({json.dumps([rq["tools"], rq["system"]]) for rq, _ in judge}) == 1
    assert judge[0][0]["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "tool_choice" not in judge[0][0]
    assert judge[0][1]["usage"]["cache_creation_input_tokens"] > 0
    assert all(rs["usage"]["cache_read_input_tokens"] > 0 for _, rs in judge[1:])
    # dollars: reviewing and judging apart, each the sum of its own calls at the price table
    def billed(pairs):
        return sum(cost(usage_from_api(rs["usage"]), rq["model"]) for rq, rs in pairs)
    assert cell["cost"]["judge_usd"] == pytest.approx(billed(judge), abs=1e-5)
    assert cell["cost"]["review_usd"] == pytest.approx(billed(reviews), abs=1e-5)
    assert sum(p["cost"]["review_calls"] for p in cell["prs"]) == len(reviews)
    # the PR given by URL was read through the GitHub API, with a read-only token that reached no file
    gh = [(r.method, urllib.parse.urlparse(r.uri).path) for r in cass.requests
          if not urllib.parse.urlparse(r.uri).path.startswith("/v1/")]
    assert ("GET", "/repos/acme/widgets/pulls/7/files") in gh and all(m == "GET" for m, _ in gh)
    for f in out.rglob("*"):
        if f.is_file():
            assert READ_TOKEN not in f.read_text()
    assert READ_TOKEN not in (CASSETTES / "test_eval_e2e.yaml").read_text()
    md = (out / "results.md").read_text()
    assert "## Overall" in md and "## Per severity" in md and "## Per specialist" in md and WIDGETS in md
    assert RECORDING or cass.all_played

    # rerun: every review and judgment is reused; no key, no token, no call at all
    with recorder().use_cassette("test_eval_empty.yaml", allow_playback_repeats=False) as empty:
        code, stdout2, err2 = run_eval(monkeypatch, capsys, "--out", str(out), "--format", "json", token=None, key=None)
        assert len(empty.requests) == 0
    assert code == 0, err2
    again = json.loads(stdout2)
    for a, b in zip(again["cells"][0]["prs"], cell["prs"], strict=False):
        assert a["reused"] == {"review": True, "judgment": True}
        assert {k: a[k] for k in ("tp", "fp", "found", "matches", "cost")} == \
               {k: b[k] for k in ("tp", "fp", "found", "matches", "cost")}
    assert again["cells"][0]["overall"] == cell["overall"]


def test_eval_matrix_over_specialists_and_effort(monkeypatch, capsys, tmp_path):
    with cassette("test_eval_matrix.yaml") as cass:
        code, stdout, err = run_eval(monkeypatch, capsys, "--out", str(tmp_path / "o"), "--format", "json",
                                     "--pr", UNIDIFF, "--model", "claude-sonnet-4-6", "--model", "claude-opus-4-8",
                                     "--specialists", "correctness", "--specialists", "correctness,maintainability",
                                     "--effort", "low")
    assert code == 0, err
    cells = json.loads(stdout)["cells"]
    assert [(c["model"], c["specialists"]) for c in cells] == [
        (m, s) for m in ("claude-sonnet-4-6", "claude-opus-4-8") for s in (["correctness"], ["correctness", "maintainability"])]
    assert all(c["effort"] == "low" for c in cells)
    assert [c["label"] for c in cells][:2] == ["claude-sonnet-4-6 · correctness · effort low",
                                               "claude-sonnet-4-6 · correctness+maintainability · effort low"]
    for c in cells:
        check_arithmetic(c)
        [pr] = c["prs"]
        assert set(pr["specialists"]) <= set(c["specialists"])
        assert set(c["per_specialist"]) <= set(c["specialists"]) | {"summary", "secret-scan"}
    calls = messages_calls(cass)
    reviews = [rq for rq, _ in calls if not is_judge(rq)]
    assert reviews and all(rq["output_config"] == {"effort": "low"} for rq in reviews)
    assert {rq["model"] for rq in reviews} == {"claude-sonnet-4-6", "claude-opus-4-8"}
    assert sum(c["prs"][0]["cost"]["review_calls"] for c in cells) == len(reviews)
    assert all("output_config" not in rq for rq, _ in calls if is_judge(rq))        # the judge keeps its default
    assert RECORDING or cass.all_played


def test_eval_markdown_on_stdout(monkeypatch, capsys, tmp_path):
    """Markdown is the default; with everything saved, a rerun needs nothing but the files."""
    out = tmp_path / "o"
    with cassette("test_eval_markdown.yaml"):
        code, stdout, _ = run_eval(monkeypatch, capsys, "--out", str(out), "--pr", UNIDIFF, "-q")
    assert code == 0
    assert stdout == (out / "results.md").read_text()
    assert stdout.startswith("# reviewbot eval: ") and "| default | 1/1 |" in stdout


def test_eval_github_pr_needs_a_token(monkeypatch, capsys, tmp_path):
    code, _, err = run_eval(monkeypatch, capsys, "--out", str(tmp_path / "o"), "--pr", WIDGETS, token=None)
    assert code == 2
    assert err.strip().splitlines()[-1] == (f"reviewbot: error: GITHUB_TOKEN is not set (needed to read {WIDGETS}; "
                                            "a read-only token is enough)")


@pytest.mark.parametrize("args, message", [
    (["--pr", "https://github.com/a/b/pull/1"], "--pr https://github.com/a/b/pull/1: not in the golden set"),
    (["--specialists", "nobody"], "--specialists: unknown specialist 'nobody'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_eval_usage_errors(monkeypatch, capsys, tmp_path, args, message):
    code, _, err = run_eval(monkeypatch, capsys, "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_eval_missing_golden_set(capsys, tmp_path):
    assert main(["eval", str(tmp_path / "none.json")]) == 2
    assert "golden set not found" in capsys.readouterr().err


def test_a_pr_that_cannot_be_read_is_listed_and_the_exit_code_says_so(capsys, tmp_path, monkeypatch):
    (tmp_path / "broken.bundle").write_text("not a bundle")
    golden = tmp_path / "g.json"
    golden.write_text(json.dumps([{"pr_title": "t", "url": "https://github.com/a/b/pull/1", "bundle": "broken.bundle",
                                   "comments": [{"comment": "c", "severity": "Low"}]}]))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = main(["eval", str(golden), "--out", str(tmp_path / "o"), "--format", "json", "-q"])
    cap = capsys.readouterr()
    assert code == 5 and cap.err == ""
    [pr] = json.loads(cap.out)["cells"][0]["prs"]
    assert pr["error"].startswith("cannot read the PR: cannot read the bundle") and pr["precision"] is None
    assert json.loads(cap.out)["cells"][0]["prs_failed"] == 1


@pytest.mark.skipif(RECORDING, reason="replays the recording of test_eval_end_to_end_then_resume")
def test_jobs_review_prs_at_once_with_the_same_results(monkeypatch, capsys, tmp_path):
    with recorder().use_cassette("test_eval_e2e.yaml", before_record_request=_no_control) as cass:
        code, stdout, err = run_eval(monkeypatch, capsys, "--out", str(tmp_path / "o"), "--format", "json",
                                     "--jobs", "3")
        assert cass.all_played
    assert code == 0, err
    [cell] = json.loads(stdout)["cells"]
    check_arithmetic(cell)
    assert [p["url"] for p in cell["prs"]] == [g["url"] for g in json.loads(GOLDEN.read_text())]
