"""Dependencies point down: domain/ imports nothing else from reviewbot, and the result's consumers
(output/, github/) read it from domain, never from the orchestrator or the Anthropic SDK.
Checked on the source (every import statement, also inside functions)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "reviewbot"

# Imports a folder's owner is still moving out (the test fails once they are gone: drop them here).
PENDING: dict[str, set[str]] = {}


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_imports_nothing_else_from_reviewbot(path):
    name = f"domain/{path.name}"
    outside = {m for m in imports(path) if m.split(".")[0] == "reviewbot" and not m.startswith("reviewbot.domain")}
    assert outside == PENDING.get(name, set())


# github/run.py (the GitHub run), github/bulk.py (many PRs in one batch run) and github/thread_answer.py
# (the one answer call in a thread) are orchestrators: they run the pipeline and an agent, as the commands do.
ORCHESTRATORS = {"run.py", "bulk.py", "thread_answer.py"}
CONSUMERS = modules("output") + [p for p in modules("github") if p.name not in ORCHESTRATORS]


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_results_consumers_do_not_import_the_orchestrator_or_the_sdk(path):
    bad = {m for m in imports(path) if m.startswith(("reviewbot.pipeline", "reviewbot.agents", "anthropic"))}
    assert bad == set()
