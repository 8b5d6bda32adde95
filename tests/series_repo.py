"""A git repository with one change made as a series of N commits, for the format-patch tests.

The end state is a real PR's (tests/data/corpus/unidiff-126: eight files, a rename, deletions);
on the way the commits also add a line that a later commit removes, delete a base line that a later
commit puts back, add a file that a later commit deletes, add a file with a space and a non-ASCII
letter in its name, and rename a file that a later commit edits, so folding the series is more than
concatenating its patches.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from corpus import GIT_ENV

BUNDLE = Path(__file__).parent / "data" / "corpus" / "unidiff-126.bundle"
FIRST_SUBJECT = ("Drop the Python 2 compatibility imports from the parser, the tests and the package "
                 "modules, one step at a time")


def git(repo: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=GIT_ENV,
                          input=input).stdout


def series_repo(tmp: Path, commits: int) -> Path:
    """A repository whose branch `series` is `pr`'s end state reached in `commits` commits from `base`."""
    repo = tmp / f"series-{commits}"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(repo)], check=True, capture_output=True, env=GIT_ENV)
    git(repo, "checkout", "-q", "-b", "series", "origin/base")
    names = git(repo, "diff", "--name-status", "-M", "origin/base", "origin/pr")
    status = [line.split("\t") for line in names.splitlines()]
    steps: list[list] = [[] for _ in range(commits)]
    for i, entry in enumerate(status):
        steps[(i * commits) // len(status)].append(entry)
    if commits >= 3:
        modified = [e[1] for e in status if e[0] == "M"][-1]    # rewritten to its end state last
        changed = {e[-1] for e in status}
        untouched = next(p for p in git(repo, "ls-files").splitlines() if p.endswith(".py") and p not in changed)
        steps[0] += [("tmp-line", modified),                   # a line added, removed later
                     ("delete-line", modified),                # a base line deleted, put back later
                     ("add-file", "docs/new file ü.txt")]
        steps[1] += [("restore-line", modified), ("drop-tmp-line", modified),
                     ("add-file", "scratch notes.txt"),        # a file added, deleted later
                     ("rename", untouched, "moved/" + untouched.replace("/", "_"))]
        steps[2] += [("append-line", "moved/" + untouched.replace("/", "_"))]
        steps[-1].append(("delete-file", "scratch notes.txt"))
    for n, step in enumerate(steps, 1):
        if not step:                                       # format-patch leaves out empty commits
            step.append(("add-file", f"notes/step {n}.txt"))
    saved: dict[str, str] = {}
    for n, step in enumerate(steps, 1):
        for entry in step:
            _apply(repo, entry, saved)
        git(repo, "add", "-A")
        subject = f"Step {n} of {commits}: " + ", ".join(str(e[-1]) for e in step)[:60] if step else f"Step {n}"
        if n == 1:                                         # long enough for format-patch to fold it
            subject = FIRST_SUBJECT
        git(repo, "commit", "-q", "--allow-empty", "-m", subject + "\n\nWhy: part of the series.")
    return repo


def _apply(repo: Path, entry, saved: dict[str, str]) -> None:
    kind, path = entry[0], entry[1]
    f = repo / path
    if kind in ("M", "A"):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(subprocess.run(["git", "show", f"origin/pr:{path}"], cwd=repo, check=True,
                                     capture_output=True, env=GIT_ENV).stdout)
    elif kind == "D":
        f.unlink()
    elif kind.startswith("R") and len(entry) == 3 and kind != "rename":
        git(repo, "mv", entry[1], entry[2])
        (repo / entry[2]).write_bytes(subprocess.run(["git", "show", f"origin/pr:{entry[2]}"], cwd=repo, check=True,
                                                     capture_output=True, env=GIT_ENV).stdout)
    elif kind == "tmp-line":
        f.write_text("# temporary line, removed later in the series\n" + f.read_text())
    elif kind == "drop-tmp-line":
        f.write_text(f.read_text().replace("# temporary line, removed later in the series\n", "", 1))
    elif kind == "delete-line":
        lines = f.read_text().split("\n")
        saved[path] = lines[-3]
        f.write_text("\n".join(lines[:-3] + lines[-2:]))
    elif kind == "restore-line":
        lines = f.read_text().split("\n")
        f.write_text("\n".join(lines[:-2] + [saved[path]] + lines[-2:]))
    elif kind == "rename":
        (repo / entry[2]).parent.mkdir(parents=True, exist_ok=True)
        git(repo, "mv", entry[1], entry[2])
    elif kind == "append-line":
        f.write_text(f.read_text() + "# appended after the rename\n")
    elif kind == "add-file":
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("scratch\nnotes\n")
    elif kind == "delete-file":
        f.unlink()
