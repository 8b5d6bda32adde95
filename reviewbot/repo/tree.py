"""The repository at one commit, read-only, from git objects: list, read and search its files.

`RepoTree` is what the workspace's read_file, the search_code tool and the related-code section
see of a repository. `GitTree` is its one implementation: a commit in a git object database, read
with `git ls-tree`, `git cat-file` and `git grep <commit>`, never from a working tree (uncommitted
edits are not the change) and never executed. Locally the database is the user's repository; on
GitHub it is one the bot builds from the head's tarball (reviewbot.github.archive), so both sides
read and search the same way with the same engine.

git runs with its output pinned (`-z`, no colour, no pager, no textconv, the grep settings on the
command line), so the user's configuration cannot change what the reviewers see. Failures become
`RepoError`, a ToolInputError: the tools turn them into is_error results.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cached_property
from pathlib import Path
from typing import Protocol

from reviewbot.errors import RepoError

SYMLINK, SUBMODULE = "120000", "160000"
GREP_TIMEOUT = 20.0
CACHE_BYTES = 4 * 1024 * 1024      # blobs kept for later reads, per tree (oldest dropped first)
_PINNED = ("-c", "core.quotepath=false", "-c", "grep.lineNumber=false", "-c", "grep.fullName=false",
           "-c", "grep.column=false", "-c", "grep.extendedRegexp=false", "-c", "color.ui=never",
           "-c", "grep.fallbackToNoIndex=false")


@dataclass(frozen=True, slots=True)     # one per file of the tree: a large repository has many
class Entry:
    path: str
    mode: str            # "100644", "100755", "120000" (symlink), "160000" (submodule)
    sha: str
    size: int

    @property
    def is_file(self) -> bool:
        return self.mode in ("100644", "100755")


@dataclass(frozen=True)
class Match:
    path: str
    line: int
    text: str


class RepoTree(Protocol):
    """A read-only view of the repository at one commit."""

    commit: str

    def entries(self) -> dict[str, Entry]: ...

    def read(self, path: str) -> bytes | None: ...

    def listing(self, folder: str) -> list[str]: ...

    def prefetch(self, paths: Iterable[str]) -> None: ...

    def blobs(self, paths: Iterable[str]) -> Iterator[tuple[str, bytes | None]]: ...

    def grep(self, pattern: str, *, regex: bool = False, glob: str = "", word: bool = False,
             ignore_case: bool = False, limit: int = 200) -> tuple[list[Match], bool]: ...


def git(git_dir: Path, *args: str, timeout: float = 120.0, nothing_found: bool = False,
        stdin: bytes | None = None) -> bytes:
    """git's stdout, with every setting that shapes the output pinned on the command line (the user's
    own configuration still applies otherwise, e.g. safe.directory); with `nothing_found`, exit code
    1 without a message (git grep: no match) is an empty answer."""
    cmd = ["git", f"--git-dir={git_dir}", "--no-pager", *_PINNED, *args]
    env = {**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat"}
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise RepoError(f"git {args[0]} took longer than {timeout:.0f}s") from None
    if nothing_found and done.returncode == 1 and not done.stderr.strip():
        return b""
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepoError(f"git {args[0]} failed: {msg[-1] if msg else done.returncode}")
    return done.stdout


class GitTree:
    """The tree of `commit` in the git object database at `git_dir` (a `.git` directory or a bare
    repository). Construction does no I/O; the listing is read once, when first needed. Blobs read
    are kept for the next reads up to `cache_bytes` (the oldest go first), so a large change's files
    are never all in memory at once; `blobs` streams many without keeping them."""

    def __init__(self, git_dir: str | Path, commit: str, cache_bytes: int = CACHE_BYTES):
        self.git_dir, self.commit, self.cache_bytes = Path(git_dir), commit, cache_bytes
        self._blobs: dict[str, bytes] = {}
        self._cached = 0

    @cached_property
    def _entries(self) -> dict[str, Entry]:
        raw = git(self.git_dir, "ls-tree", "-r", "-l", "-z", "--full-tree", self.commit)
        out = {}
        for rec in raw.split(b"\0"):
            if not rec:
                continue
            meta, _, path = rec.partition(b"\t")
            mode, _kind, sha, size = meta.split()
            name = path.decode("utf-8", "surrogateescape")
            out[name] = Entry(name, sys.intern(mode.decode()), sha.decode(), int(size) if size != b"-" else 0)
        return out

    def entries(self) -> dict[str, Entry]:
        return self._entries

    def read(self, path: str) -> bytes | None:
        """A regular file's bytes, or None when the path is absent, a directory or a submodule.
        A symlink is followed inside the tree (at most 8 hops); RepoError when it leads out."""
        entry = self._entries.get(path)
        for _ in range(8):
            if entry is None:
                return None
            if entry.mode != SYMLINK:
                return self._blob(entry.sha) if entry.is_file else None
            target = self._blob(entry.sha).decode("utf-8", "surrogateescape")
            joined = _join(path.rpartition("/")[0], target)
            if joined is None:
                raise RepoError(f"{path!r} is a symbolic link that leads outside the repository")
            path, entry = joined, self._entries.get(joined)
        raise RepoError(f"{path!r}: too many levels of symbolic links")

    def listing(self, folder: str) -> list[str]:
        """The entries directly in `folder` ("" for the root), directories with a trailing "/"."""
        prefix = folder.strip("/") + "/" if folder.strip("/") else ""
        names = set()
        for path in self._entries:
            if path.startswith(prefix):
                first, sep, _ = path[len(prefix):].partition("/")
                names.add(first + sep)
        return sorted(names)

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the blobs of these paths in one `git cat-file --batch` and keep them for the reads that
        follow (as many as `cache_bytes` holds: ask for a few hundred files at a time)."""
        shas = sorted({e.sha for p in paths if (e := self._entries.get(p)) is not None and e.is_file
                       and e.sha not in self._blobs})
        for sha, data in _cat_file(self.git_dir, shas):
            if data is not None:
                self._keep(sha, data)

    def blobs(self, paths: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """(path, what `read` gives) of each path, in order: the regular files from one `git cat-file
        --batch` read as a stream and kept nowhere; a symlink through `read` (None when it leads out
        of the tree)."""
        wanted = [(p, self._entries.get(p)) for p in paths]
        found = _cat_file(self.git_dir, [e.sha for _, e in wanted if e is not None and e.is_file])
        for path, e in wanted:
            if e is not None and e.is_file:
                yield path, next(found)[1]              # cat-file answers in the order asked
            else:
                try:
                    yield path, self.read(path)
                except RepoError:
                    yield path, None

    def _keep(self, sha: str, data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        while self._blobs and self._cached + len(data) > self.cache_bytes:
            self._cached -= len(self._blobs.pop(next(iter(self._blobs))))
        self._blobs[sha] = data
        self._cached += len(data)

    def _blob(self, sha: str) -> bytes:
        data = self._blobs.get(sha)
        if data is None:
            data = git(self.git_dir, "cat-file", "blob", sha)
            self._keep(sha, data)
        return data

    def grep(self, pattern: str, *, regex: bool = False, glob: str = "", word: bool = False,
             ignore_case: bool = False, limit: int = 200) -> tuple[list[Match], bool]:
        """Lines matching `pattern` (a fixed string, or a POSIX extended regex), in the text files
        whose path matches `glob` (fnmatch: * also matches /), in path and line order; at most
        `limit` of them, and whether there were more. Symlinks are not searched."""
        args = ["grep", "-z", "-n", "-I", "--no-color", "--full-name", "-E" if regex else "-F"]
        args += ["-w"] * word + ["-i"] * ignore_case + ["-e", pattern, self.commit, "--"]
        prefix = self.commit.encode() + b":"
        matches: list[Match] = []
        for rec in _lines_of(self.git_dir, args, GREP_TIMEOUT):     # read until one past the limit
            parts = rec.removesuffix(b"\n").split(b"\0", 2)
            if len(parts) != 3 or not parts[0].startswith(prefix):
                continue
            path = parts[0][len(prefix):].decode("utf-8", "surrogateescape")
            entry = self._entries.get(path)
            if (glob and not fnmatch(path, glob)) or entry is None or not entry.is_file:
                continue
            if len(matches) >= limit:
                return matches, True
            matches.append(Match(path, int(parts[1]), parts[2].decode("utf-8", "replace")))
        return matches, False


def _lines_of(git_dir: Path, args: list[str], timeout: float) -> Iterator[bytes]:
    """The lines of a `git grep`'s output as it writes them (a reader that stops early ends it: a
    large repository's matches are never all in memory); exit code 1 without a message is no match,
    any other failure RepoError, as from `git`."""
    cmd = ["git", f"--git-dir={git_dir}", "--no-pager", *_PINNED, *args]
    env = {**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat"}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env)
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            proc.kill()
        timer = threading.Timer(timeout, stop)
        timer.start()
        assert proc.stdout is not None
        try:
            yield from proc.stdout
        finally:
            timer.cancel()
            proc.stdout.close()
            code = proc.wait()
        if timed_out.is_set():
            raise RepoError(f"git {args[0]} took longer than {timeout:.0f}s")
        err.seek(0)
        stderr = err.read()
        if code == 1 and not stderr.strip():
            return
        if code != 0:
            msg = stderr.decode("utf-8", "replace").strip().splitlines()
            raise RepoError(f"git {args[0]} failed: {msg[-1] if msg else code}")


def _cat_file(git_dir: Path, shas: list[str], timeout: float = 120.0) -> Iterator[tuple[str, bytes | None]]:
    """(sha, bytes) of each object, in the order asked, from one `git cat-file --batch` whose output
    is read one object at a time (None: missing from the database). RepoError when git fails."""
    if not shas:
        return
    with tempfile.TemporaryFile() as ask, tempfile.TemporaryFile() as err:
        ask.write(("\n".join(shas) + "\n").encode())
        ask.seek(0)
        cmd = ["git", f"--git-dir={git_dir}", "--no-pager", *_PINNED, "cat-file", "--batch"]
        env = {**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat"}
        proc = subprocess.Popen(cmd, stdin=ask, stdout=subprocess.PIPE, stderr=err, env=env)
        assert proc.stdout is not None
        try:
            while header := proc.stdout.readline():
                parts = header.split()
                if len(parts) != 3:                 # "<sha> missing"
                    yield parts[0].decode() if parts else "", None
                    continue
                data = proc.stdout.read(int(parts[2]))
                proc.stdout.read(1)                 # the newline after the object
                yield parts[0].decode(), data
        finally:
            proc.stdout.close()
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RepoError(f"git cat-file took longer than {timeout:.0f}s") from None
        if code != 0:
            err.seek(0)
            msg = err.read().decode("utf-8", "replace").strip().splitlines()
            raise RepoError(f"git cat-file failed: {msg[-1] if msg else code}")


def _join(folder: str, target: str) -> str | None:
    """`target` (a symlink's text) resolved against the folder holding the link, inside the tree;
    None for an absolute target or one that climbs out."""
    if target.startswith("/") or "\0" in target:
        return None
    parts: list[str] = [p for p in folder.split("/") if p]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or None


@dataclass(frozen=True)
class Repository:
    """The repository around a change: the tree at head, and at the base (the merge-base)."""

    head: RepoTree
    base: RepoTree | None = None
