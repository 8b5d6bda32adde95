"""A GitHub PR as a Change: files from GitHub's patches, rules and config from the base branch."""
import pytest

from reviewbot.config import Config
from reviewbot.errors import ConfigError
from reviewbot.github.source import (
    ApiFile,
    CommitInfo,
    Comparison,
    PullInfo,
    config_from_texts,
    file_change,
    incremental_change,
    pull_change,
    rule_paths,
)

PULL = PullInfo(7, "Add discounts", "Body.", "alice", "open", False, "main", "a" * 40, "feature", "c" * 40,
                "acme/widgets")
PATCH = "@@ -1,2 +1,3 @@\n x = 1\n+y = 2\n z = 3"


def test_pull_change_has_githubs_lines_and_metadata():
    files = (ApiFile("src/a.py", "modified", PATCH, None, 1, 0), ApiFile("logo.png", "added", None, None, 0, 0),
             ApiFile("new/b.py", "renamed", None, "old/b.py", 0, 0))
    chg = pull_change(PULL, "acme/widgets", files, (CommitInfo("c" * 40, "Add discounts"),),
                      (("REVIEW.md", "rules"),), ("src/a.py:2 [low] x",))
    a, logo, b = chg.files
    assert a.commentable_lines == {1, 2, 3} and a.added_lines == {2} and a.patch.startswith("diff --git a/src/a.py")
    assert logo.hunks == () and logo.commentable_lines == frozenset()
    assert (b.status, b.old_path) == ("renamed", "old/b.py")
    assert chg.meta.number == 7 and chg.meta.repository == "acme/widgets" and chg.meta.commits == ("Add discounts",)
    assert chg.review_rules == (("REVIEW.md", "rules"),) and chg.prior_findings == ("src/a.py:2 [low] x",)


def test_a_patch_that_cannot_be_parsed_becomes_a_note():
    fc = file_change(ApiFile("a.py", "modified", "not a hunk", None, 3, 1))
    assert fc.hunks == () and "patch not reviewable" in fc.note and fc.additions == 3
    assert file_change(ApiFile("a.py", "weird-status", PATCH)).status == "modified"


def test_incremental_change_keeps_only_files_still_in_the_pr():
    cmp = Comparison("ahead", (CommitInfo("d" * 40, "Fix", ("c" * 40,)),),
                     (ApiFile("src/a.py", "modified", PATCH), ApiFile("src/reverted.py", "modified", PATCH)))
    chg = incremental_change(PULL, "acme/widgets", cmp, (ApiFile("src/a.py", "modified", PATCH),), "c" * 40)
    assert [f.path for f in chg.files] == ["src/a.py"]
    assert chg.meta.commits == ("Fix",) and chg.meta.description.startswith("Incremental review")
    assert cmp.is_fast_forward
    assert not Comparison("ahead", (CommitInfo("e" * 40, "Merge", ("1" * 40, "2" * 40)),), ()).is_fast_forward
    assert not Comparison("diverged", (), ()).is_fast_forward


def test_rule_paths_match_case_insensitively_and_skip_symlinks():
    root = (("readme.md", "file"), ("Review.md", "file"), ("AGENTS.md", "symlink"), ("CLAUDE.md", "dir"),
            ("contributing.md", "file"), (".github", "dir"))
    assert rule_paths(root, (("CONTRIBUTING.md", "file"),)) == ("Review.md", "contributing.md",
                                                                 ".github/CONTRIBUTING.md")
    assert rule_paths((), ()) == ()


def test_config_comes_from_the_base_texts():
    texts = {".reviewbot.toml": 'specialists = ["security"]\n', "pyproject.toml": "[tool.reviewbot]\nmax_turns = 3\n"}
    assert config_from_texts(texts.get, None).specialists == ("security",)
    assert config_from_texts({"pyproject.toml": texts["pyproject.toml"]}.get, None).max_turns == 3
    assert config_from_texts({"pyproject.toml": "[tool.black]\n"}.get, None) == Config()
    assert config_from_texts({}.get, None) == Config()
    assert config_from_texts({"ci/rb.toml": "max_turns = 4\n"}.get, "ci/rb.toml").max_turns == 4
    with pytest.raises(ConfigError, match=r"config file ci/rb.toml not found \(base branch\)"):
        config_from_texts({}.get, "ci/rb.toml")
    with pytest.raises(ConfigError, match=r"\.reviewbot\.toml \(base branch\): invalid TOML"):
        config_from_texts({".reviewbot.toml": "x = ["}.get, None)
    with pytest.raises(ConfigError, match="'max_turns'"):
        config_from_texts({".reviewbot.toml": "max_turns = -1"}.get, None)


def test_files_without_a_patch_binary_or_omitted_are_listed_not_reviewed():
    from reviewbot.github.source import BINARY_NOTE, OMITTED_NOTE, ApiFile, file_change, is_binary, omitted
    logo = ApiFile("assets/logo.png", "added", None)
    big = ApiFile("src/big.py", "modified", None, additions=4000, deletions=10)
    moved = ApiFile("src/new.py", "renamed", None, previous_path="src/old.py")
    assert is_binary(logo) and not omitted(logo)
    assert omitted(big) and not is_binary(big)
    assert not is_binary(moved) and not omitted(moved)                  # a pure rename has nothing to review
    fc = file_change(logo)
    assert fc.is_binary and fc.note == BINARY_NOTE and not fc.hunks
    fc = file_change(big)
    assert fc.is_binary and fc.note == OMITTED_NOTE and OMITTED_NOTE in fc.patch       # never routed
    assert not file_change(moved).is_binary


def test_an_omitted_patch_is_rebuilt_from_the_two_texts():
    from reviewbot.github.source import ApiFile, file_change, rebuild_omitted
    old = "".join(f"line {i}\n" for i in range(1, 30))
    new = old.replace("line 10\n", "line ten\n").replace("line 25\n", "")
    f = ApiFile("src/big.py", "modified", None, additions=1, deletions=2)
    g = rebuild_omitted(f, old, new)
    fc = file_change(g)
    assert not fc.is_binary and len(fc.hunks) == 2 and fc.additions == 1 and fc.deletions == 2
    assert 10 in fc.added_lines and 10 in fc.commentable_lines
    assert rebuild_omitted(f, old, old) is None                          # nothing to show
    assert rebuild_omitted(f, None, new) is None                         # the base could not be read
    added = rebuild_omitted(ApiFile("src/n.py", "added", None, additions=2), None, "a\nb")
    assert file_change(added).added_lines == {1, 2}
