"""The golden set: the benchmark's format read unchanged, our local-source keys, clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewbot.errors import ConfigError
from reviewbot.eval.golden import load_golden, parse_golden, parse_pr_url

DATA = Path(__file__).parent / "data" / "eval"

# the shape of offline/golden_comments/sentry.json in the benchmark (texts made up here)
BENCHMARK_STYLE = [
    {"pr_title": "Enhanced pagination", "url": "https://github.com/ai-code-review-evaluation/sentry-greptile/pull/1",
     "original_url": "https://github.com/getsentry/sentry/pull/93824", "az_comment": "some note",
     "comments": [{"comment": "Negative slicing of a queryset", "severity": "High"},
                  {"comment": "Unused import", "severity": "Low"}]},
    {"pr_title": "Spans buffer", "url": "https://github.com/ai-code-review-evaluation/sentry-greptile/pull/2",
     "comments": [{"comment": "Race on eviction", "severity": "Critical"}]},
]


def test_reads_the_benchmark_format(tmp_path):
    f = tmp_path / "sentry.json"
    f.write_text(json.dumps(BENCHMARK_STYLE))
    prs = load_golden(f)
    assert [(g.repository, g.number, g.title) for g in prs] == [
        ("ai-code-review-evaluation/sentry-greptile", 1, "Enhanced pagination"),
        ("ai-code-review-evaluation/sentry-greptile", 2, "Spans buffer")]
    assert [(c.comment, c.severity) for c in prs[0].comments] == [
        ("Negative slicing of a queryset", "high"), ("Unused import", "low")]
    assert prs[0].id == BENCHMARK_STYLE[0]["url"] and not prs[0].is_local


def test_a_directory_is_every_json_file_in_name_order(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps(BENCHMARK_STYLE[1:]))
    (tmp_path / "a.json").write_text(json.dumps(BENCHMARK_STYLE[:1]))
    (tmp_path / "notes.txt").write_text("not a golden file")
    assert [g.number for g in load_golden(tmp_path)] == [1, 2]


def test_the_test_golden_set_and_its_local_sources():
    prs = load_golden(DATA / "golden.json")
    assert len(prs) == 3 and sum(len(g.comments) for g in prs) == 7
    widgets, unidiff, express = prs
    assert (widgets.repository, widgets.number, widgets.is_local) == ("acme/widgets", 7, False)
    for g in (unidiff, express):
        assert g.is_local and g.local.is_file() and (g.base, g.head) == ("base", "pr")


@pytest.mark.parametrize("url, expected", [
    ("https://github.com/acme/widgets/pull/7", ("acme/widgets", 7)),
    ("https://github.com/acme/widgets/pull/7/", ("acme/widgets", 7)),
    ("https://ghe.example.com/team/repo/pull/12", ("team/repo", 12)),
    ("https://github.com/acme/widgets/issues/7", None),
    ("https://github.com/acme/pull/7", None),
    ("not a url", None),
])
def test_pr_urls(url, expected):
    assert parse_pr_url(url) == expected


@pytest.mark.parametrize("data, message", [
    ("{", "not JSON"),
    ('{"a": 1}', "expected a list of pull requests"),
    ([{"url": "https://github.com/a/b/pull/1", "comments": [{"comment": "x", "severity": "Blocker"}]}],
     "entry 0: comments.0.severity"),
    ([{"url": "https://github.com/a/b/pull/1"}], "entry 0: comments: Field required"),
    ([{"url": "https://github.com/a/b/issues/1", "comments": []}], "is not a pull request URL"),
    ([{"url": "x", "repo": ".", "comments": []}], "'repo' needs 'base' and 'head'"),
    ([{"url": "x", "bundle": "a", "repo": "b", "comments": []}], "give 'bundle' or 'repo', not both"),
    ([{"url": "https://github.com/a/b/pull/1", "comments": [{"comment": "", "severity": "Low"}]}],
     "entry 0: comments.0.comment"),
])
def test_bad_golden_sets_are_one_line_errors(tmp_path, data, message):
    f = tmp_path / "g.json"
    f.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ConfigError) as e:
        load_golden(f)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_same_pr_twice_and_empty_sets(tmp_path):
    f = tmp_path / "g.json"
    f.write_text(json.dumps(BENCHMARK_STYLE + BENCHMARK_STYLE[:1]))
    with pytest.raises(ConfigError, match="appears twice"):
        load_golden(f)
    f.write_text("[]")
    with pytest.raises(ConfigError, match="no pull requests"):
        load_golden(f)
    with pytest.raises(ConfigError, match="no .json files"):
        load_golden(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else None


def test_one_pr_object_alone_is_accepted(tmp_path):
    [g] = parse_golden(json.dumps(BENCHMARK_STYLE[1]), "one.json", tmp_path)
    assert g.number == 2 and g.comments[0].severity == "critical"
