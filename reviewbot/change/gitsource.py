"""Read a local branch as a Change, with git through GitPython (the only place that touches git).

``read_local_change`` answers "what would this branch's pull request look like": the diff from the
merge-base of base and head to head (GitHub's three-dot diff), the commits in between, and the
review rules (REVIEW.md, AGENTS.md ...) as they are in the base, so a change cannot rewrite the
rules it is judged by. The diff text is turned into records by ``parse.parse_diff``.

git runs with every setting that changes the diff's text pinned on the command line (prefixes,
quoting, renames, algorithm, context, colour, external diff and textconv drivers, order file), so
the user's configuration cannot change what the reviewers see. Its output is read as bytes and
decoded as UTF-8 with replacement characters: a file in another encoding costs a few characters,
never the review.

Failures the user can cause (not a repository, unknown ref, no commits, no default branch) become
one-line ``InputError``s. An empty change is not an error: the Change has no files and the caller
decides.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from reviewbot.change.parse import parse_diff
from reviewbot.domain.change import Change, ChangeMeta, FileChange
from reviewbot.errors import InputError

# Where a pull request would go when the user does not say: tried in this order.
DEFAULT_BASES = ("origin/HEAD", "main", "master", "trunk", "develop")
# Review rules, read from the base commit in this order; each capped at RULES_MAX_CHARS.
RULE_FILES = ("REVIEW.md", "AGENTS.md", "CLAUDE.md", "CONTRIBUTING.md", ".github/CONTRIBUTING.md")
RULES_MAX_CHARS = 20_000
TRUNCATED_NOTE = "\n[truncated]"

_SYMLINK_MODE = 0o120000

# Settings that would change the text of the diff, pinned (`git -c` beats every config file).
_DIFF_CONFIG = (
    "diff.noprefix=false", "diff.mnemonicprefix=false", "core.quotepath=true", "diff.relative=false",
    "diff.suppressBlankEmpty=false", "diff.renames=true", "diff.algorithm=default",
    "diff.indentHeuristic=true", "diff.interHunkContext=0", "diff.context=3", "core.abbrev=auto",
    "color.diff=never", "diff.submodule=short",
)
_DIFF_OPTIONS = (
    "--no-color", "--no-ext-diff", "--no-textconv", "-M", "--src-prefix=a/", "--dst-prefix=b/",
    "--unified=3", "--ignore-submodules=none", f"-O{os.devnull}",
)


def read_local_change(repo_dir: str | Path, base: str | None = None, head: str | None = None) -> Change:
    """The change head would bring into base, read from the repository at (or above) ``repo_dir``.

    head defaults to ``HEAD``. base defaults to the first of DEFAULT_BASES that exists; it is an
    error when none does or when head is that very branch (pass a base then). Either way the diff
    starts at ``merge-base(base, head)``, as a pull request's does.
    """
    with _open_repo(repo_dir) as repo:
        head_ref = head or "HEAD"
        if head_ref == "HEAD" and not repo.head.is_valid():
            raise InputError(f"the repository at {_repo_root(repo)} has no commits yet")
        head_sha = _resolve(repo, head_ref)
        base_ref = base if base is not None else _default_base(repo, head_ref)
        base_sha = _merge_base(repo, _resolve(repo, base_ref), head_sha, base_ref, head_ref)
        files = parse_diff(_diff_text(repo, base_sha, head_sha))
        return Change(
            meta=_meta(repo, base_ref, _head_name(repo, head_ref), base_sha, head_sha),
            files=files,
            review_rules=_review_rules(repo, base_sha),
            sources=_sources(repo, head_sha, files),
        )


# --------------------------------------------------------------------------------------------
# running git


def _open_repo(repo_dir: str | Path) -> git.Repo:
    try:
        return git.Repo(repo_dir, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as err:
        raise InputError(f"not a git repository: {repo_dir}") from err


def _git(repo: git.Repo, *args: str) -> bytes:
    """Run ``git ARGS`` in the repository; stdout as bytes, untouched (GitCommandError on failure)."""
    command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]
    return repo.git.execute(command, stdout_as_string=False, strip_newline_in_stdout=False)


def _git_line(repo: git.Repo, *args: str) -> str:
    return _git(repo, *args).decode("utf-8", errors="replace").strip()


def _resolve(repo: git.Repo, ref: str) -> str:
    """The commit sha ref names, or InputError naming the ref (never an option: no leading "-")."""
    if ref.startswith("-"):
        raise _unknown_ref(repo, ref)
    try:
        return _git_line(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitCommandError as err:
        raise _unknown_ref(repo, ref) from err


def _unknown_ref(repo: git.Repo, ref: str) -> InputError:
    return InputError(f"unknown ref {ref!r} in {_repo_root(repo)}")


def _exists(repo: git.Repo, ref: str) -> bool:
    try:
        _resolve(repo, ref)
    except InputError:
        return False
    return True


def _full_name(repo: git.Repo, ref: str) -> str:
    """``refs/heads/main`` for ``main`` or for ``HEAD`` on main, symbolic refs followed (``origin/HEAD``
    -> ``refs/remotes/origin/main``); ``ref`` itself for a sha, a detached HEAD or ``main~1``.
    Only for refs known to resolve."""
    return _git_line(repo, "rev-parse", "--symbolic-full-name", ref) or ref


def _short_name(repo: git.Repo, full_name: str) -> str:
    return _git_line(repo, "rev-parse", "--abbrev-ref", full_name) or full_name


def _merge_base(repo: git.Repo, base_sha: str, head_sha: str, base_ref: str, head_ref: str) -> str:
    try:
        return _git_line(repo, "merge-base", base_sha, head_sha)
    except GitCommandError as err:
        raise InputError(f"{base_ref!r} and {head_ref!r} have no common ancestor") from err


def _diff_text(repo: git.Repo, base_sha: str, head_sha: str) -> str:
    config = [arg for setting in _DIFF_CONFIG for arg in ("-c", setting)]
    try:
        raw = _git(repo, *config, "diff", *_DIFF_OPTIONS, base_sha, head_sha, "--")
    except GitCommandError as err:
        stderr = str(err.stderr or "").strip().splitlines()
        raise InputError(f"git diff failed: {stderr[-1] if stderr else err.status}") from err
    return raw.decode("utf-8", errors="replace")


def _repo_root(repo: git.Repo) -> str:
    return str(repo.working_tree_dir or repo.git_dir)


# --------------------------------------------------------------------------------------------
# base, head and metadata


def _default_base(repo: git.Repo, head_ref: str) -> str:
    """The first existing DEFAULT_BASES entry (``origin/HEAD`` as the branch it points to)."""
    found = next((ref for ref in DEFAULT_BASES if _exists(repo, ref)), None)
    if found is None:
        raise InputError(f"no default branch found ({', '.join(DEFAULT_BASES)}); pass --base")
    full = _full_name(repo, found)
    if full == _full_name(repo, head_ref):
        raise InputError(f"{head_ref} is the default branch {_short_name(repo, full)}; "
                         "pass --base (or check out the branch to review)")
    return _short_name(repo, full) if found == "origin/HEAD" else found


def _head_name(repo: git.Repo, head_ref: str) -> str:
    """The branch HEAD is on (``HEAD`` when detached); any other ref as the user wrote it."""
    if head_ref != "HEAD":
        return head_ref
    full = _full_name(repo, "HEAD")
    return _short_name(repo, full) if full.startswith("refs/heads/") else "HEAD"


def _meta(repo: git.Repo, base_ref: str, head_ref: str, base_sha: str, head_sha: str) -> ChangeMeta:
    commits = list(repo.iter_commits(f"{base_sha}..{head_sha}", reverse=True))
    messages = [_message(c) for c in commits]
    return ChangeMeta(
        title=_title(messages, head_ref if _is_branch(repo, head_ref) else None),
        description=_description(messages),
        author=str(repo.commit(head_sha).author.name or ""),
        base_ref=base_ref,
        head_ref=head_ref,
        base_sha=base_sha,
        head_sha=head_sha,
        commits=tuple(_subject(m) for m in messages),
        repository=Path(_repo_root(repo)).name.removesuffix(".git"),
    )


def _is_branch(repo: git.Repo, ref: str) -> bool:
    return _full_name(repo, ref).startswith(("refs/heads/", "refs/remotes/"))


def _message(commit: git.Commit) -> str:
    message = commit.message
    if isinstance(message, bytes):  # GitPython keeps bytes it could not decode
        message = message.decode("utf-8", errors="replace")
    return message.strip()


def _subject(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def _title(messages: list[str], branch: str | None) -> str:
    """GitHub's default PR title: the subject of a single commit; for several, the head branch
    humanized (``fix-login_bug`` -> ``Fix login bug``), or the head commit's subject when head is
    no branch (a sha, ``HEAD~2``, a detached HEAD); empty without commits."""
    if not messages:
        return ""
    if len(messages) == 1 or branch is None:
        return _subject(messages[-1])
    words = branch.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _description(messages: list[str]) -> str:
    """A single commit's body (its subject is the title); several commits' full messages, oldest
    first, separated by blank lines."""
    if len(messages) == 1:
        return messages[0].partition("\n")[2].strip()
    return "\n\n".join(messages)


# --------------------------------------------------------------------------------------------
# review rules


def _review_rules(repo: git.Repo, base_sha: str) -> tuple[tuple[str, str], ...]:
    """(path, text) of each RULE_FILES entry in the base commit, in that order, absent ones skipped.

    Names match case-insensitively when there is no exact match (``Contributing.md`` counts as
    CONTRIBUTING.md); the path reported is the one in the tree.
    """
    tree = repo.commit(base_sha).tree
    rules: list[tuple[str, str]] = []
    for name in RULE_FILES:
        blob = _find_blob(tree, name)
        if blob is not None:
            rules.append((str(blob.path), _capped(blob.data_stream.read().decode("utf-8", errors="replace"))))
    return tuple(rules)


def _find_blob(tree: git.Tree, path: str) -> git.Blob | None:
    """The regular file at path (exact name first, else the first case-insensitive match in name
    order); None when absent, a directory, a symlink or a submodule."""
    node: object = tree
    for part in path.split("/"):
        if not isinstance(node, git.Tree):
            return None
        entries = sorted(node, key=lambda e: e.name)
        node = next((e for e in entries if e.name == part), None) or next(
            (e for e in entries if e.name.lower() == part.lower()), None)
        if node is None:
            return None
    return node if isinstance(node, git.Blob) and node.mode != _SYMLINK_MODE else None


def _capped(text: str) -> str:
    return text if len(text) <= RULES_MAX_CHARS else text[:RULES_MAX_CHARS] + TRUNCATED_NOTE


def read_file_at(repo_dir: str | Path, rev: str, path: str) -> str | None:
    """The text of `path` in commit `rev` (exact name), or None when it is absent there. Used to read
    configuration from the base commit, where the change under review cannot have rewritten it."""
    repo = _open_repo(repo_dir)
    try:
        tree = repo.commit(rev).tree
        blob = tree / path
    except (KeyError, ValueError, git.BadName):
        return None
    if not isinstance(blob, git.Blob) or blob.mode == _SYMLINK_MODE:
        return None
    data: bytes = blob.data_stream.read()
    return data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# full new versions of the changed files

SOURCE_MAX_BYTES = 200_000          # a larger file is left out (its patch is still reviewed)
SOURCES_MAX_BYTES = 5_000_000       # at most this much in all


def _tree_index(repo: git.Repo, sha: str) -> dict[str, tuple[str, str, int]]:
    """Every regular file of the commit's tree: path -> (mode, blob sha, size), from one
    `git ls-tree -r -l -z` (the tree is read once, not one level per changed file)."""
    index: dict[str, tuple[str, str, int]] = {}
    for record in _git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", sha).split(b"\0"):
        if not record:
            continue
        info, _, path = record.partition(b"\t")
        mode, kind, blob, size = info.split(None, 3)
        if kind == b"blob" and int(mode, 8) != _SYMLINK_MODE:
            index[path.decode("utf-8", "surrogateescape")] = (mode.decode(), blob.decode(), int(size))
    return index


def _sources(repo: git.Repo, head_sha: str, files: Sequence[FileChange]) -> tuple[tuple[str, str], ...]:
    """(path, text) of each changed, non-deleted, non-binary regular file as it is at head, so a
    reviewer can read more context than the hunks carry. Large, binary or non-text files are skipped.
    The head tree is listed once and the blobs read through git's one object stream (cat-file --batch)."""
    wanted = [f for f in files if f.status != "deleted" and not f.is_binary]
    if not wanted:
        return ()
    index, out, total = _tree_index(repo, head_sha), [], 0
    for f in wanted:
        entry = index.get(f.path)
        if entry is None or entry[2] > SOURCE_MAX_BYTES or total + entry[2] > SOURCES_MAX_BYTES:
            continue
        data = repo.odb.stream(bytes.fromhex(entry[1])).read()
        if b"\x00" in data:
            continue
        total += entry[2]
        out.append((f.path, data.decode("utf-8", errors="replace")))
    return tuple(out)
