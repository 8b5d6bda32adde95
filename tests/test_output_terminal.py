"""The terminal: plain markdown byte for byte when piped, rich when stdout is a TTY; progress on
stderr only (quiet, normal, verbose), never mixed into a machine format on stdout."""
import io
import json

import pytest
from cassette import cassette
from corpus import clone
from test_output_json import finding, synthetic_result

from reviewbot.cli import main
from reviewbot.domain.findings import GENERAL
from reviewbot.llm.usage import Usage
from reviewbot.output.render import render, to_markdown
from reviewbot.output.terminal import NORMAL, QUIET, VERBOSE, ProgressPrinter, write_review
from reviewbot.pipeline.review import AgentStatus


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def small_result():
    return synthetic_result(
        findings=(finding(end_line=12, suggestion="for i in range(n):\n"),
                  finding(placement=GENERAL, path="", line=0, severity="nit", title="No changelog entry",
                          specialist="release")),
        agents=(AgentStatus("security", "ok", 1, ("src/app.py",)),
                AgentStatus("performance", "failed", 0, ("src/app.py",), "Anthropic API error 500: boom"),
                AgentStatus("rules", "idle")),
        summary=AgentStatus("summary", "ok"))


GOLDEN = (
    "# reviewbot: Add a feature\n\nmain..feature · 2 file(s), +12 -3 · verdict: needs changes\n\n"
    "**Partial review:** some reviewers did not finish (see below).\n\n## Overview\n\n"
    "Adds a feature; one loop is off by one.\n\n## Findings (2)\n\n### 1. [high] Loop skips the last item\n"
    "`src/app.py:10-12` · off-by-one · correctness · confidence 0.90\n\nrange(n - 1) stops one short.\n\n"
    "Suggested replacement:\n```\nfor i in range(n):\n```\n\n### 2. [nit] No changelog entry\n"
    "`(whole change)` · off-by-one · release · confidence 0.90\n\nrange(n - 1) stops one short.\n\n"
    "## Reviewers\n\n- security: 1 finding(s) on 1 file(s)\n- performance: **failed**: Anthropic API error 500: boom\n"
    "- rules: not run (no file of its kinds)\n- summary: ok\n"
    "- set aside: 1 rejected by the summary, 1 below the confidence floor, 1 duplicate(s) merged\n"
    "- note: a note\n\n## Usage\n\n"
    "usage: 2 calls, cache hit rate 48.9%, cost $0.0292 (without caching $0.0389, saving 25%)\n"
    "shared prefix sha256 cccccccccccccccc… written once (leader), every call dispatched within its "
    "300.0s TTL: yes\n")


def test_markdown_bytes_are_stable():
    assert to_markdown(small_result()) == GOLDEN


def test_piped_output_is_the_plain_markdown_byte_for_byte():
    out = io.StringIO()
    write_review(render(small_result(), "markdown"), "markdown", out)
    assert out.getvalue() == GOLDEN


def test_terminal_gets_rich_rendering(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    result = small_result()
    result = synthetic_result(findings=(finding(explanation="See [the docs](https://evil.example/x)."),),
                              agents=result.agents, summary=result.summary)
    out = FakeTTY()
    write_review(render(result, "markdown"), "markdown", out)
    text = out.getvalue()
    assert "\x1b[" in text and "Loop skips the last item" in text
    assert "### " not in text and "```" not in text              # rendered, not raw markdown
    assert "\x1b]8;" not in text                                  # no clickable hyperlinks from model text


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_are_never_rendered(fmt):
    out = FakeTTY()
    text = render(small_result(), fmt)
    write_review(text, fmt, out)
    assert out.getvalue() == text


def test_progress_levels():
    events = ["shared prefix sha256 " + "c" * 64, "security: started", "security: read diff/001-a.py.patch",
              "security: done with 2 finding(s)", "performance: failed: Anthropic API error 500: boom",
              "summary: started", "summary: ok"]
    printed = {}
    for level in (QUIET, NORMAL, VERBOSE):
        err = io.StringIO()
        p = ProgressPrinter(err, level, clock=lambda: 0.0)
        p.event(events[0])
        p.event(events[1])
        p.event(events[2])
        p.call("claude-sonnet-4-6", Usage(100, 5000, 0, 0, 300))          # $0.02355
        for e in events[3:]:
            p.event(e)
        printed[level] = err.getvalue().splitlines()
    assert printed[QUIET] == []
    assert printed[NORMAL] == [
        "reviewbot: security: started", "reviewbot: security: read diff/001-a.py.patch",
        "reviewbot: security: done with 2 finding(s) (1 call, $0.0236 so far)",
        "reviewbot: performance: failed: Anthropic API error 500: boom (1 call, $0.0236 so far)",
        "reviewbot: summary: started", "reviewbot: summary: ok (1 call, $0.0236 so far)"]
    assert printed[VERBOSE][0] == "reviewbot: shared prefix sha256 " + "c" * 64
    assert printed[VERBOSE][3] == ("reviewbot: call 1 after 0.0s: 100 input, 5,000 cache write, 0 cache read, "
                                   "300 output, $0.0236 (1 call, $0.0236 so far)")
    assert printed[VERBOSE][1:3] + printed[VERBOSE][4:] == printed[NORMAL]


def test_progress_lines_cannot_be_split_or_styled_by_file_names():
    err = io.StringIO()
    ProgressPrinter(err).event("security: read diff/001-a\x1b[2J\nreviewbot: fake.patch")
    assert err.getvalue() == "reviewbot: security: read diff/001-a[2J reviewbot: fake.patch\n"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8787")
    path, _ = clone("unidiff-126", tmp_path)
    (tmp_path / "all.toml").write_text('routing = "all"\n')
    return path


def _review(repo, capsys, *extra):
    with cassette("test_e2e_review_unidiff-126.yaml"):
        code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", "--config",
                     str(repo.parent / "all.toml"), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_progress_goes_to_stderr_and_json_stays_clean(repo, capsys):
    code, out, err = _review(repo, capsys, "--format", "json")
    assert code == 0 and json.loads(out)["schema_version"] == 1
    lines = err.splitlines()
    assert "reviewbot: security: started" in lines
    assert any(line.startswith("reviewbot: security: done with ") and line.endswith(" so far)") for line in lines)
    assert lines[-1].startswith("reviewbot: usage: ") and "sha256" not in err


def test_cli_verbose_shows_each_call(repo, capsys):
    code, out, err = _review(repo, capsys, "--format", "sarif", "-v")
    assert code == 0 and json.loads(out)["version"] == "2.1.0"
    calls = [line for line in err.splitlines() if line.startswith("reviewbot: call ")]
    assert len(calls) == 8 and "shared prefix sha256" in err                 # 7 specialists + summary


def test_cli_quiet_and_verbose_together_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["review", "-q", "-v"])
    assert e.value.code == 2
