"""The repository of a pull request, from GitHub, without a checkout: one tarball per commit.

GitHub's archive of a commit (`GET .../tarball/{sha}`, one request and one download) is turned
into git objects in a private bare repository with `git fast-import`: the same blobs, modes and
symlinks, never written out as a working tree and never executed. The reviewers then read and
search it through reviewbot.repo.tree exactly as they do a local repository. The download goes
through gh.PullRequestApi (the PyGithub edge); building the fast-import stream is pure.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

from reviewbot.github.api import PullRequestApi
from reviewbot.repo.tree import GitTree, Repository, git

MAX_ARCHIVE_BYTES = 200_000_000         # a larger repository is reviewed without its context


def fast_import_stream(archive: bytes, ref: str) -> bytes:
    """A `git fast-import` stream that commits the tarball's files (under its one top-level folder,
    which is dropped) to `ref`, with fixed author and date, so the same archive gives the same
    commit. Regular files keep their executable bit; symlinks stay symlinks; anything else is left out."""
    out = io.BytesIO()
    entries: list[tuple[str, str]] = []          # (mode, path), mark = position + 1
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in tar:
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not name or name.startswith("/") or ".." in name.split("/"):
                continue
            if member.isfile():
                mode = "100755" if member.mode & 0o111 else "100644"
                handle = tar.extractfile(member)
                data = handle.read() if handle is not None else b""
            elif member.issym():
                mode, data = "120000", member.linkname.encode("utf-8", "surrogateescape")
            else:
                continue
            entries.append((mode, name))
            out.write(b"blob\nmark :%d\ndata %d\n" % (len(entries), len(data)) + data + b"\n")
    out.write(f"commit {ref}\ncommitter reviewbot <reviewbot@invalid> 0 +0000\ndata 0\n".encode())
    for mark, (mode, name) in enumerate(entries, start=1):
        out.write(f"M {mode} :{mark} {_quote(name)}\n".encode("utf-8", "surrogateescape"))
    out.write(b"\n")
    return out.getvalue()


def _quote(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def import_archive(archive: bytes, git_dir: Path, ref: str) -> str:
    """Commit the archive into the bare repository at git_dir (created when absent); its commit id."""
    if not (git_dir / "HEAD").exists():
        git(git_dir, "init", "--bare", "--quiet", str(git_dir))
    git(git_dir, "fast-import", "--quiet", "--force", stdin=fast_import_stream(archive, ref))
    return git(git_dir, "rev-parse", ref).decode().strip()


def github_repository(api: PullRequestApi, head_sha: str, base_sha: str, git_dir: Path) -> Repository:
    """The PR's head and base as trees, from one tarball each. APIError when GitHub fails (or the
    archive is larger than MAX_ARCHIVE_BYTES); RepoError when it cannot be imported."""
    head = import_archive(api.tarball(head_sha, MAX_ARCHIVE_BYTES), git_dir, "refs/heads/head")
    base = import_archive(api.tarball(base_sha, MAX_ARCHIVE_BYTES), git_dir, "refs/heads/base") if base_sha else ""
    return Repository(GitTree(git_dir, head), GitTree(git_dir, base) if base else None)
