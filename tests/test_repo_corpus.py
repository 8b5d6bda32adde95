"""On every PR of ../shared/corpus (skipped without it): the related-code section is the same bytes
on two independent runs, within its budget, and the shared prefix that carries it too."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from corpus import GIT_ENV

from reviewbot.change.gitsource import read_local_change
from reviewbot.config import Config
from reviewbot.pipeline.review import prepare
from reviewbot.repo.local import local_repository
from reviewbot.repo.related import RELATED_FILE, budget_for, build_related, estimate_tokens

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NAMES = sorted(p.stem for p in CORPUS.glob("*.bundle")) if CORPUS.is_dir() else []


@pytest.fixture(scope="module")
def clones(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


@pytest.mark.skipif(not NAMES, reason=f"corpus not found at {CORPUS}")
@pytest.mark.parametrize("name", NAMES)
def test_related_code_is_deterministic_and_within_budget(name, clones, tmp_path):
    repo_dir = clones / name
    subprocess.run(["git", "clone", "-q", "--bare", str(CORPUS / f"{name}.bundle"), str(repo_dir)], check=True,
                   capture_output=True, env=GIT_ENV)
    change = read_local_change(repo_dir, "base", "pr")
    budget = budget_for(change, Config().related_code_tokens)
    first = build_related(change, local_repository(repo_dir, change.meta.head_sha, change.meta.base_sha), budget)
    second = build_related(change, local_repository(repo_dir, change.meta.head_sha, change.meta.base_sha), budget)
    assert first.text == second.text
    assert first.tokens == estimate_tokens(first.text) <= budget
    repo = local_repository(repo_dir, change.meta.head_sha, change.meta.base_sha)
    _, a = prepare(change, Config(), tmp_path / "a", repo=repo)
    _, b = prepare(change, Config(), tmp_path / "b", repo=local_repository(repo_dir, change.meta.head_sha,
                                                                           change.meta.base_sha))
    assert a.sha256() == b.sha256()
    if first.text:
        assert a.reads[-1] == (RELATED_FILE, first.text)
