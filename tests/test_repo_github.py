"""The repository of a GitHub PR, from one tarball per commit, against a live ghsim (skipped
without ../shared): read and search at head and base, as the reviewers' tools see them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from simulators import ghsim

from reviewbot.agents.tools import ToolBox
from reviewbot.errors import ToolInputError
from reviewbot.github.api import GitHubSettings, PullRequestApi, connect
from reviewbot.github.archive import github_repository
from reviewbot.workspace.files import read_path

DATA = Path(__file__).parent / "data" / "github"
EVENT = json.loads((DATA / "events" / "widgets-7-opened.json").read_text())["pull_request"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    with ghsim("--pr", str(DATA / "widgets-7.bundle")) as url:
        settings = GitHubSettings(api_url=url, token="ghs_anything", seconds_between_requests=0,
                                  seconds_between_writes=0, retries=0)
        api = PullRequestApi(connect(settings), settings, "acme/widgets", 7)
        yield github_repository(api, EVENT["head"]["sha"], EVENT["base"]["sha"],
                                tmp_path_factory.mktemp("gh") / "objects.git")


def test_reads_head_and_base_from_the_tarballs(repo, tmp_path):
    assert sorted(repo.head.entries()) == [".reviewbot.toml", "README.md", "REVIEW.md", "assets/logo.bin",
                                           "src/widgets/__init__.py", "src/widgets/discounts.py",
                                           "src/widgets/pricing.py"]
    assert "discounts.py" not in repo.base.listing("src/widgets")
    head = read_path(tmp_path, repo, "src/widgets/pricing.py")
    assert "from .discounts import discount_for" in head
    assert "discount_for" not in read_path(tmp_path, repo, "base/src/widgets/pricing.py")
    with pytest.raises(ToolInputError, match="no such file"):
        read_path(tmp_path, repo, "base/src/widgets/discounts.py")
    with pytest.raises(ToolInputError, match="binary"):
        read_path(tmp_path, repo, "assets/logo.bin")


def test_searches_head_and_base(repo, tmp_path):
    box = ToolBox(tmp_path, repo)
    head = box.search_code({"pattern": "discount_for", "word": True})
    assert head.startswith("3 match(es) for 'discount_for' at head")
    assert "src/widgets/discounts.py\n  3-\n  4: def discount_for(quantity, gross):" in head
    assert box.search_code({"pattern": "discount_for", "at": "base"}) == "no match for 'discount_for' at base\n"
    assert "def unit_price" in box.search_code({"pattern": r"def [a-z_]+\(kind", "regex": True, "at": "base"})
