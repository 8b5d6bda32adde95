"""`--format json` against its published schema (reviewbot/output/review.schema.json).

Real outputs come from replaying the e2e cassettes (the same requests, so the same cassettes serve);
a synthetic result covers what those runs do not produce: failures, rejections, every placement.
The builders here are shared with the other output tests.
"""
import asyncio
import json
from pathlib import Path

import jsonschema
import pytest
from cassette import CASSETTES
from corpus import clone

from reviewbot.change.gitsource import read_local_change
from reviewbot.config import load_config
from reviewbot.domain.change import ChangeMeta
from reviewbot.domain.enums import FILE, GENERAL, INLINE
from reviewbot.domain.findings import Finding
from reviewbot.domain.result import AgentStatus, ReviewResult, Schedule
from reviewbot.llm.anthropic_transport import AnthropicTransport, make_client
from reviewbot.llm.cassettes import make_vcr
from reviewbot.llm.usage import CallRecord, Usage
from reviewbot.output.render import empty_result, render, to_json
from reviewbot.pipeline.review import run_review
from reviewbot.repo.local import local_repository

SCHEMA = json.loads((Path(__file__).parent.parent / "reviewbot" / "output" / "review.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def replayed_result(name: str, into: Path, routing: str = "tiered") -> ReviewResult:
    """The ReviewResult of the e2e run of corpus PR `name`, replayed from its cassette."""
    repo, _ = clone(name, into)
    cfg = into / f"{name}.toml"
    cfg.write_text(f'routing = "{routing}"\n')
    change = read_local_change(repo, "base", "pr")

    async def go():
        async with make_client("test-key", "http://127.0.0.1:8787", 0, 60) as client:
            return await run_review(change, load_config(repo, cfg), AnthropicTransport(client), into / f"{name}-ws",
                                    repo=local_repository(repo, change.meta.head_sha, change.meta.base_sha))

    with make_vcr(CASSETTES, "none").use_cassette(f"test_e2e_review_{name}.yaml"):
        return asyncio.run(go())


@pytest.fixture(scope="session")
def real_results(tmp_path_factory):
    """The two e2e reviews (unidiff-126 with all seven specialists, express-6522 routed by file kind)."""
    tmp = tmp_path_factory.mktemp("replayed")
    return [replayed_result("unidiff-126", tmp, "all"), replayed_result("express-6522", tmp)]


def finding(placement=INLINE, **kw) -> Finding:
    d = dict(specialist="correctness", path="src/app.py", line=10, severity="high", category="off-by-one",
             title="Loop skips the last item", explanation="range(n - 1) stops one short.", confidence=0.9,
             placement=placement)
    d.update(kw)
    return Finding(**d)


META = ChangeMeta(title="Add a feature", description="", author="alice", base_ref="main", head_ref="feature",
                  base_sha="a" * 40, head_sha="b" * 40, commits=("Add a feature",), repository="acme/widgets",
                  number=7)


def synthetic_result(**kw) -> ReviewResult:
    """Every shape the reporters must handle: all placements, odd paths, a failed reviewer and summary,
    rejected and low-confidence findings, the secret scanner, control characters from the model."""
    findings = (
        finding(end_line=12, suggestion="for i in range(n):\n", also_flagged_by=("maintainability",)),
        finding(placement=FILE, line=0, severity="medium", category="design", title="Module too large",
                specialist="maintainability"),
        finding(placement=FILE, line=99, severity="low", title="Stale comment", note="line 99 is not part of the diff",
                specialist="documentation", path="docs/my guide#1.md"),
        finding(placement=GENERAL, path="", line=0, severity="nit", title="No changelog entry", specialist="release"),
        finding(placement=GENERAL, path="nowhere/ghost.py", line=3, severity="critical", specialist="security",
                title="Secret\x1b[31m in \x07logs", note="'nowhere/ghost.py' is not a file of this change"),
        finding(specialist="secret-scan", severity="high", category="committed-secret", line=11,
                title="Possible AWS access key id committed", confidence=0.9),
    )
    agents = (AgentStatus("security", "ok", 1, ("src/app.py",)), AgentStatus("correctness", "ok", 1, ("src/app.py",)),
              AgentStatus("performance", "failed", 0, ("src/app.py",), "Anthropic API error 500: boom"),
              AgentStatus("maintainability", "ok", 1, ("src/app.py",)),
              AgentStatus("documentation", "ok", 1, ("docs/my guide#1.md",)),
              AgentStatus("release", "ok", 1, ("src/app.py",)),
              AgentStatus("rules", "idle", notes=("no file of its kinds",)))
    calls = (CallRecord("security#1", "claude-sonnet-4-6", Usage(100, 5000, 0, 0, 300), 0.0, 0.5, 2.0, "tool_use"),
             CallRecord("correctness#1", "claude-sonnet-4-6", Usage(120, 0, 0, 5000, 250), 0.6, 0.9, 2.5, "tool_use"))
    d = dict(meta=META, files_changed=2, additions=12, deletions=3, findings=findings, verdict="needs_changes",
             overview="Adds a feature; one loop is off by one.", agents=agents,
             summary=AgentStatus("summary", "failed", error="Anthropic API timed out"),
             rejected=((finding(title="Not a bug", severity="low"), "the loop is correct"),),
             low_confidence=(finding(title="Maybe slow", confidence=0.2, specialist="performance"),),
             duplicates_folded=1, calls=calls,
             schedule=Schedule("leader", "c" * 64, 300.0, (("security#1", 0.0), ("correctness#1", 0.6))),
             notes=("a note",))
    d.update(kw)
    return ReviewResult(**d)


def test_schema_is_a_valid_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_real_outputs_validate(real_results):
    for result in real_results:
        doc = json.loads(render(result, "json"))
        assert list(VALIDATOR.iter_errors(doc)) == []
        assert doc["findings"] and doc["usage"]["calls"]


def test_synthetic_and_empty_outputs_validate():
    for result in (synthetic_result(), synthetic_result(schedule=None, calls=(), summary=None, verdict=None),
                   empty_result(META, "nothing to review")):
        doc = json.loads(render(result, "json"))
        errors = [e.message for e in VALIDATOR.iter_errors(doc)]
        assert errors == []


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("verdict"),                                      # every key is always present
    lambda d: d.update(surprise=1),                                  # no undocumented key
    lambda d: d["findings"][0].update(placement="margin"),
    lambda d: d["findings"][0].update(severity="urgent"),
    lambda d: d["findings"][0].update(extra=True),
    lambda d: d["rejected"][0].pop("reason"),
    lambda d: d["specialists"][0].update(status="sleeping"),
    lambda d: d["usage"]["totals"].pop("saving"),
    lambda d: d["cache"].update(prefix_sha256="xyz"),
])
def test_schema_rejects_drift(mutate):
    doc = to_json(synthetic_result())
    assert list(VALIDATOR.iter_errors(doc)) == []
    mutate(doc)
    assert list(VALIDATOR.iter_errors(doc)) != []
