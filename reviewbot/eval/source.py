"""Each golden PR as the `Change` a review takes: read through the GitHub API, or from a local
git repository or bundle.

GitHub: the pull request, its files and commits and the review rules of its base commit, through
the read side of reviewbot.github (PyGithub; a read-only token is enough). The repository's own
`.reviewbot.toml` is not read: an evaluation measures the settings it is given, the same for every
PR. Local: `base`..`head` of a repository, or of a bundle cloned into a scratch directory first.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import git

from reviewbot.change.gitsource import read_local_change
from reviewbot.domain.change import Change
from reviewbot.errors import InputError
from reviewbot.eval.golden import Golden
from reviewbot.github.api import GitHubSettings, PullRequestApi, connect
from reviewbot.github.source import capped, pull_change, rule_paths


def read_github(golden: Golden, settings: GitHubSettings) -> Change:
    """The PR as it is on GitHub now: the same Change `reviewbot github` builds."""
    assert golden.repository and golden.number
    api = PullRequestApi(connect(settings), settings, golden.repository, golden.number)
    pull = api.pull()
    files, commits = api.files(), api.commits()
    root = api.list_dir("", pull.base_sha)
    dot_github = api.list_dir(".github", pull.base_sha) if (".github", "dir") in root else ()
    rules = []
    for path in rule_paths(root, dot_github):
        text = api.read_text(path, pull.base_sha)
        if text is not None:
            rules.append((path, capped(text)))
    return pull_change(pull, golden.repository, files, commits, tuple(rules))


def read_local(golden: Golden) -> Change:
    """base..head of a local repository, or of a bundle (cloned bare into a scratch directory)."""
    assert golden.local is not None
    if golden.local.is_file():
        with tempfile.TemporaryDirectory(prefix="reviewbot-eval-") as tmp:
            try:
                git.Repo.clone_from(str(golden.local), Path(tmp) / "repo.git", bare=True,
                                    env={"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"})
            except git.GitCommandError as e:
                why = str(e.stderr or e).strip()[-200:]
                raise InputError(f"cannot read the bundle {golden.local}: {why}") from None
            change = read_local_change(Path(tmp) / "repo.git", golden.base, golden.head)
    else:
        change = read_local_change(golden.local, golden.base, golden.head)
    if golden.title:
        change = replace(change, meta=replace(change.meta, title=golden.title))
    return change
