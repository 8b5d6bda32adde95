"""A `git format-patch` series is one change: the same files, statuses, counts and hunks as
`git diff base..head`, the title from the first subject (tag dropped, folded lines kept)."""
from __future__ import annotations

import pytest
from series_repo import FIRST_SUBJECT, git, series_repo

from reviewbot.change.diffsource import change_from_text, read_diff_file
from reviewbot.change.parse import parse_diff
from reviewbot.change.series import difflib_hunks, strip_patch_tag
from reviewbot.domain.findings import Finding, place


def _shape(files):
    return [(f.path, f.status, f.old_path, f.additions, f.deletions, f.is_binary,
             [(h.old_start, h.old_len, h.new_start, h.new_len, [(ln.kind, ln.text) for ln in h.lines])
              for h in f.hunks])
            for f in files]


@pytest.fixture(scope="module", params=[1, 3, 10])
def series(request, tmp_path_factory):
    repo = series_repo(tmp_path_factory.mktemp("series"), request.param)
    mails = git(repo, "format-patch", "--stdout", "origin/base..series")
    return request.param, repo, mails


def test_a_series_parses_to_what_git_diff_shows(series):
    n, repo, mails = series
    assert mails.count("\nSubject: ") + mails.startswith("Subject: ") == n
    change = change_from_text(mails, "stdin")
    expected = parse_diff(git(repo, "diff", "origin/base", "series"))
    assert _shape(change.files) == _shape(expected)
    assert (change.additions, change.deletions) == (sum(f.additions for f in expected),
                                                    sum(f.deletions for f in expected))
    assert len({f.path for f in change.files}) == len(change.files)          # no file twice
    if n >= 3:
        assert {f.status for f in change.files} >= {"added", "modified", "renamed"}
        assert "scratch notes.txt" not in {f.path for f in change.files}     # added, then deleted
        assert len(change.history) == n


def test_the_title_is_the_first_subject_without_its_tag_and_with_its_folded_line(series):
    n, _, mails = series
    assert "\n " in mails.split("Subject: ", 1)[1].split("\n\n", 1)[0]       # git folded it
    change = change_from_text(mails, "stdin")
    assert change.meta.title == FIRST_SUBJECT
    assert len(change.meta.commits) == n and change.meta.commits[0] == FIRST_SUBJECT
    assert not any("[PATCH" in c for c in change.meta.commits)


def test_a_finding_on_an_added_line_of_a_folded_file_is_inline(series):
    _, _, mails = series
    change = change_from_text(mails, "stdin")
    f = next(f for f in change.files if f.additions)
    line = min(f.added_lines)
    placed = place(Finding("correctness", f.path, line, "medium", "bug", "T", "E", 0.9), change)
    assert placed.placement == "inline"


def test_a_series_read_from_a_file_and_from_stdin_is_the_same(series, tmp_path, monkeypatch):
    import io
    import sys
    _, _, mails = series
    (tmp_path / "s.mbox").write_text(mails)
    from_file = read_diff_file(str(tmp_path / "s.mbox"))
    monkeypatch.setattr(sys, "stdin", type("S", (), {"buffer": io.BytesIO(mails.encode())})())
    assert _shape(read_diff_file("-").files) == _shape(from_file.files)


def test_difflib_is_the_fallback_differ_without_git():
    n = 3
    a = ["a", "b", "c", "d", "e"]
    b = ["a", "B", "c", "d", "e", "f"]
    hunks = difflib_hunks(a, b)
    assert hunks == ["@@ -1,5 +1,6 @@\n a\n-b\n+B\n c\n d\n e\n+f\n"] and n == 3


@pytest.mark.parametrize("subject, title", [
    ("[PATCH] Fix it", "Fix it"), ("[PATCH 2/3] Fix it", "Fix it"), ("[PATCH v2 01/10] Fix it", "Fix it"),
    ("[RFC PATCH] Fix it", "Fix it"), ("[PATCH] [docs] Fix it", "[docs] Fix it"), ("Fix [PATCH] it", "Fix [PATCH] it"),
])
def test_patch_tags(subject, title):
    assert strip_patch_tag(subject) == title


def test_an_encoded_subject_is_decoded():
    text = ("From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nFrom: a <a@b>\n"
            "Subject: [PATCH] =?UTF-8?q?Caf=C3=A9=20menu?=\n =?UTF-8?q?=20fixes?=\n\nBody.\n---\n"
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n-- \n2.43.0\n")
    change = change_from_text(text, "p.patch")
    assert change.meta.title == "Café menu fixes" and change.meta.description == "Body."
    assert [f.path for f in change.files] == ["x"]
