"""Small builders for tests: a FileChange with real hunks, a Change around it, and the CLI run in-process."""
from __future__ import annotations

from reviewbot.cli import main
from reviewbot.domain.change import Change, ChangeMeta, FileChange, Hunk, Line


def file_change(path: str = "src/app.py", added=(10, 11, 12), context=(8, 9, 13), status="modified",
                **kw) -> FileChange:
    lines = []
    for n in sorted(set(added) | set(context)):
        lines.append(Line("+" if n in added else " ", None if n in added else n, n, f"line {n}"))
    start = min(n for n in (set(added) | set(context)))
    hunk = Hunk(start, len(context), start, len(lines), "", tuple(lines))
    body = "".join(("+" if l.kind == "+" else " ") + l.text + "\n" for l in lines)
    patch = (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
             f"@@ -{start},{len(context)} +{start},{len(lines)} @@\n{body}")
    return FileChange(path=path, status=status, patch=patch, hunks=(hunk,), additions=len(added), **kw)


def change(*files: FileChange, **meta) -> Change:
    defaults = dict(title="Add a feature", description="It adds things.", author="alice", base_ref="main",
                    head_ref="feature", base_sha="a" * 40, head_sha="b" * 40, commits=("Add a feature",),
                    repository="acme/widgets")
    defaults.update(meta)
    return Change(ChangeMeta(**defaults), files or (file_change(),))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`reviewbot ARGV` in-process: its exit code, stdout and stderr."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
