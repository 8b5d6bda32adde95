"""The repository of a local review: the user's own git object database, at head and at the base.

Read through git objects only (reviewbot.repo.tree), so uncommitted edits in the working tree are
never what the reviewers see, and nothing is checked out or run.
"""
from __future__ import annotations

from pathlib import Path

import git as gitpython

from reviewbot.repo.tree import GitTree, Repository


def local_repository(repo_dir: str | Path, head_sha: str, base_sha: str) -> Repository:
    """The trees of `head_sha` and `base_sha` in the repository at (or above) `repo_dir`."""
    git_dir = Path(gitpython.Repo(repo_dir, search_parent_directories=True).git_dir)
    return Repository(GitTree(git_dir, head_sha), GitTree(git_dir, base_sha) if base_sha else None)
