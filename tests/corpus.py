"""Corpus PRs for tests: clone a bundle from tests/data/corpus into a directory named after it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

DATA = Path(__file__).parent / "data" / "corpus"
GIT_ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": "/tmp"}


def clone(name: str, into: Path) -> tuple[Path, dict]:
    """The bundle as a repo at into/name with local branches base and pr (pr checked out)."""
    repo = into / name
    def run(*a, cwd=None):
        return subprocess.run(a, cwd=cwd, check=True, capture_output=True, env=GIT_ENV)
    run("git", "clone", "-q", str(DATA / f"{name}.bundle"), str(repo))
    run("git", "checkout", "-q", "-B", "pr", "origin/pr", cwd=repo)
    run("git", "branch", "-q", "-f", "base", "origin/base", cwd=repo)
    return repo, json.loads((DATA / f"{name}.json").read_text())
