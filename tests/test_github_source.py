"""A GitHub PR as a Change: files from GitHub's patches, rules and config from the base branch."""
import pytest

from reviewbot.config import Config
from reviewbot.errors import ConfigError
from reviewbot.github.source import (
    ApiFile, CommitInfo, Comparison, PullInfo, config_from_texts, file_change, incremental_change, pull_change,
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
