"""The terminal: plain markdown byte for byte when piped, rich when stdout is a TTY; progress on
stderr only (quiet, normal, verbose), never mixed into a machine format on stdout."""
import dataclasses
import io
import json
import typing

import pytest
from cassette import cassette
from corpus import clone
from test_output_json import finding, synthetic_result

from reviewbot.cli import main
from reviewbot.domain.enums import GENERAL
from reviewbot.domain.events import (
    AgentFailed,
    AgentFinished,
    AgentRefused,
    AgentStarted,
    BatchEnded,
    BatchesSent,
    BatchSubmitted,
    CallFinished,
    CodeSearched,
    DeadlineReached,
    EvalCellScored,
    EvalReviewed,
    EvalScored,
    EvalStarted,
    Event,
    FileRead,
    KeepWarm,
    LeaderFailed,
    ManipulationFound,
    OfReview,
    Pacing,
    PrefixBuilt,
    RangesSkipped,
    RelatedCodeAdded,
    Resumed,
    SecretsFound,
    StreamRetried,
    SummarySkipped,
    TokensCounting,
)
from reviewbot.domain.result import AgentStatus
from reviewbot.llm.usage import Usage
from reviewbot.output.render import render, to_markdown
from reviewbot.output.terminal import (
    NORMAL,
    QUIET,
    VERBOSE,
    ProgressPrinter,
    describe,
    level_of,
    progress_level,
    write_review,
)


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
    events = [PrefixBuilt("c" * 64), AgentStarted("security"), FileRead("security", "diff/001-a.py.patch"),
              CallFinished("claude-sonnet-4-6", Usage(100, 5000, 0, 0, 300), 0.02355),
              AgentFinished("security", 2), AgentFailed("performance", "Anthropic API error 500: boom"),
              AgentStarted("summary"), AgentFinished("summary", 0)]
    printed = {}
    for level in (QUIET, NORMAL, VERBOSE):
        err = io.StringIO()
        p = ProgressPrinter(err, level, clock=lambda: 0.0)
        for e in events:
            p(e)
        assert p.calls == 1 and p.cost == pytest.approx(0.02355)       # counted at every level
        printed[level] = err.getvalue().splitlines()
    assert printed[QUIET] == []
    assert printed[NORMAL] == [
        "reviewbot: security: started", "reviewbot: security: read diff/001-a.py.patch",
        "reviewbot: security: done with 2 finding(s) (1 call, $0.0236 so far)",
        "reviewbot: performance: failed: Anthropic API error 500: boom (1 call, $0.0236 so far)",
        "reviewbot: summary: started", "reviewbot: summary: done with 0 finding(s) (1 call, $0.0236 so far)"]
    assert printed[VERBOSE][0] == "reviewbot: shared prefix sha256 " + "c" * 64
    assert printed[VERBOSE][3] == ("reviewbot: call 1 after 0.0s: 100 input, 5,000 cache write, 0 cache read, "
                                   "300 output, $0.0236 (1 call, $0.0236 so far)")
    assert printed[VERBOSE][1:3] + printed[VERBOSE][4:] == printed[NORMAL]


def test_progress_level_of_the_flags_is_the_same_for_every_command():
    assert [progress_level(q, v) for q, v in ((True, False), (False, False), (False, True))] == [QUIET, NORMAL,
                                                                                               VERBOSE]


def test_a_verbose_call_line_shows_thinking_diagnostics_and_a_cut_stop():
    err = io.StringIO()
    p = ProgressPrinter(err, VERBOSE, clock=lambda: 0.0)
    p(CallFinished("m", Usage(1, 0, 0, 2000, 50, thinking_tokens=40), 0.001,
                   {"type": "system_changed", "cache_missed_input_tokens": 1234}, "max_tokens"))
    p(CallFinished("m", Usage(1), 0.0, {"type": "ttl_expired"}, "end_turn"))
    assert err.getvalue().splitlines() == [
        "reviewbot: call 1 after 0.0s: 1 input, 0 cache write, 2,000 cache read, 50 output (40 thinking), $0.0010, "
        "diagnostics: system_changed (1,234 tokens not reused), max_tokens (1 call, $0.0010 so far)",
        "reviewbot: call 2 after 0.0s: 1 input, 0 cache write, 0 cache read, 0 output, $0.0000, "
        "diagnostics: ttl_expired (2 calls, $0.0010 so far)"]


def _example(kind: type) -> Event:
    """One instance of an event class, its fields filled by their annotated types."""
    values = {"str": "x", "str | None": "x", "int": 3, "float": 1.5, "float | None": 0.5, "Any": "p",
              "tuple[str, ...]": ("a", "b"), "Usage": Usage(1, 2, 0, 3, 4), "dict[str, Any] | None": None,
              "bool": False, "tuple[tuple[str, int], ...]": (("msgbatch_1", 3),), "Event": AgentStarted("security")}
    return kind(**{f.name: values[f.type] for f in dataclasses.fields(kind)})


KINDS = typing.get_args(Event)


@pytest.mark.parametrize("kind", KINDS, ids=[k.__name__ for k in KINDS])
def test_every_event_kind_is_rendered_at_its_level(kind):
    event = _example(kind)
    text = describe(event)
    assert text and "(" + kind.__name__ not in text and "=" not in text          # a line, not a repr
    for level in (QUIET, NORMAL, VERBOSE):
        err = io.StringIO()
        ProgressPrinter(err, level, clock=lambda: 0.0)(event)
        lines = err.getvalue().splitlines()
        assert len(lines) == (1 if level >= level_of(event) else 0)
        if lines:
            assert lines[0].startswith("reviewbot: ")


def test_the_lines_users_see():
    shown = {
        RelatedCodeAdded(4, 900, 2000, 1): "related code: 4 snippet(s), ~900 tokens (budget 2000; 1 left out)",
        Resumed(("rules", "security"), "/tmp/ws"): "resume: reusing rules, security from /tmp/ws",
        LeaderFailed("security", 6): "security: the first call failed before its first event; the other 6 "
                                     "reviewer(s) were not started",
        DeadlineReached(30): "deadline: the review's deadline (30s) was reached: the reviewers that had finished "
                             "are kept, the others were stopped",
        SecretsFound(2): "secret-scan: 2 possible secret(s) in added lines",
        ManipulationFound(1): "injection-scan: 1 manipulation attempt(s) in the change",
        SummarySkipped(): "summary: not run (nothing to verify)",
        AgentRefused("security", "m1", None, "m2"): "security: refused by m1 (category: unspecified); retrying on m2",
        CodeSearched("security", "search_code", "def run"): "security: search_code 'def run'",
        Pacing(2.25): "pacing: waiting 2.2s for the input-tokens-per-minute limit",
        StreamRetried("security#1", "stream stalled", 1, 4): "security#1: stream stalled; retrying (1/4)",
        KeepWarm(): "keep-warm: refreshing the shared prefix before it expires",
        TokensCounting(8): "dry run: counting the tokens of the shared prefix and 8 request(s)",
        TokensCounting(8, "Amazon Bedrock"): "dry run: Amazon Bedrock has no count_tokens endpoint: estimating the "
                                             "tokens of the shared prefix and 8 request(s) locally",
        EvalStarted(3, 2, "j", "out"): "eval: 3 PR(s) x 2 cell(s), judge j, results in out",
        EvalReviewed("o/r#1", 2, 0.5): "eval: o/r#1: 2 finding(s), $0.5000",
        EvalScored("o/r#1", 1, 2, 1, 1): "eval: o/r#1: found 1/2, 1 true / 1 false positive(s)",
        EvalCellScored("sonnet", 0.5, None, 0.25, 1, 2): "eval: sonnet: precision 0.500, recall –, F1 0.250; "
                                                          "reviewing $1.0000, judging $2.0000",
        BatchSubmitted("msgbatch_1", 7): "batch msgbatch_1: 7 request(s) submitted",
        BatchEnded("msgbatch_1", 12.25, 6, 1, 0, 0): "batch msgbatch_1: ended after 12.2s (6 succeeded, 1 errored, "
                                                     "0 expired, 0 canceled)",
        BatchesSent((("msgbatch_1", 7), ("msgbatch_2", 2))): "2 batch(es): msgbatch_1 (7 item(s)), msgbatch_2 "
                                                            "(2 item(s))",
        RangesSkipped(("a..b",)): "nothing to review in a..b: skipped",
        OfReview("main..pr", AgentFinished("security", 2)): "main..pr: security: done with 2 finding(s)",
    }
    assert {e: describe(e) for e in shown} == shown


def test_an_event_of_one_review_among_several_is_shown_at_its_own_level():
    assert level_of(OfReview("r", PrefixBuilt("ab"))) == VERBOSE
    assert level_of(OfReview("r", AgentStarted("security"))) == NORMAL


def test_progress_lines_cannot_be_split_or_styled_by_file_names():
    err = io.StringIO()
    ProgressPrinter(err)(FileRead("security", "diff/001-a\x1b[2J\nreviewbot: fake.patch"))
    assert err.getvalue() == "reviewbot: security: read diff/001-a[2J reviewbot: fake.patch\n"


def test_progress_lines_are_redacted():
    err = io.StringIO()
    ProgressPrinter(err, known=("hunter2-secret-value",))(AgentFailed("security", "saw hunter2-secret-value"))
    assert "hunter2-secret-value" not in err.getvalue()


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
