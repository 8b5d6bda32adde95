"""Small builders for tests: a FileChange with real hunks, a Change around it, a batch item's answer and
an interactive transport a batch review must not use, and the CLI run in-process."""
from __future__ import annotations

from pathlib import Path

from reviewbot.cli import main
from reviewbot.domain.change import Change, ChangeMeta, FileChange, Hunk, Line
from reviewbot.llm.transport import Reply
from reviewbot.llm.usage import Usage


def file_change(path: str = "src/app.py", added=(10, 11, 12), context=(8, 9, 13), status="modified",
                **kw) -> FileChange:
    lines = []
    for n in sorted(set(added) | set(context)):
        lines.append(Line("+" if n in added else " ", None if n in added else n, n, f"line {n}"))
    start = min(n for n in (set(added) | set(context)))
    hunk = Hunk(start, len(context), start, len(lines), "", tuple(lines))
    body = "".join(("+" if ln.kind == "+" else " ") + ln.text + "\n" for ln in lines)
    patch = (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
             f"@@ -{start},{len(context)} +{start},{len(lines)} @@\n{body}")
    return FileChange(path=path, status=status, patch=patch, hunks=(hunk,), additions=len(added), **kw)


def change(*files: FileChange, **meta) -> Change:
    defaults = dict(title="Add a feature", description="It adds things.", author="alice", base_ref="main",
                    head_ref="feature", base_sha="a" * 40, head_sha="b" * 40, commits=("Add a feature",),
                    repository="acme/widgets")
    defaults.update(meta)
    return Change(ChangeMeta(**defaults), files or (file_change(),))


def one_hunk_patch(directory: Path) -> Path:
    """DIRECTORY/change.patch: a one-hunk change of app.py (a line that calls eval), for `review --diff`."""
    patch = directory / "change.patch"
    patch.write_text("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
                     "@@ -1,1 +1,2 @@\n x = 1\n+y = eval(x)\n")
    return patch


def batch_reply(text: str) -> Reply:
    """A batch item's answer: one text block, a few tokens, priced as a batch call."""
    return Reply(({"type": "text", "text": text},), "end_turn", Usage(input_tokens=10, output_tokens=5), "m",
                 0.0, 1.0, 1.0, "msg_" + text, batch=True)


class NoInteractive:
    """The interactive transport of a batch review that must not be used."""

    async def send(self, request, on_start=None):
        raise AssertionError("no interactive call expected")

    async def count_tokens(self, request):
        raise AssertionError


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`reviewbot ARGV` in-process: its exit code, stdout and stderr."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- reading the requests of a review, and the model's side of it (for tests/conftest.py's ScriptedTransport)

def delta_of(request) -> str:
    """The agent's role and files: the first user message after the shared prefix (and any effort message)."""
    return next(m["content"][0]["text"] for m in request["messages"][3:] if m["role"] == "user")


def who_of(request) -> str:
    """The agent a request is from: the first word of its role title, lower-cased ("summary", "security")."""
    return delta_of(request).split("# Your role: ", 1)[1].split(" ", 1)[0].lower()


def turn_of(request) -> int:
    return sum(1 for m in request["messages"][3:] if m["role"] == "assistant") + 1


def model_finding(**kw) -> dict:
    """One finding as the model submits it (submit_findings' input)."""
    d = {"path": "src/app.py", "line": 10, "severity": "medium", "category": "bug", "title": "T",
         "explanation": "E", "confidence": 0.9}
    d.update(kw)
    return d


def submit(*findings, **extra) -> list[dict]:
    """The content of a reply that calls submit_findings."""
    return [{"type": "tool_use", "id": "s1", "name": "submit_findings",
             "input": {"findings": list(findings), **extra}}]
