"""Tiers: how many specialists a change gets, and which."""
import pytest
from helpers import change, file_change

from reviewbot.config import Config
from reviewbot.domain.specialists import SPECIALISTS
from reviewbot.pipeline.review import prepare
from reviewbot.workspace.layout import build_plan
from reviewbot.workspace.routing import choose_tier


def _names(plan):
    return [s.name for s in plan.specialists]


def _plan(*files, rules=(), tiered=True):
    ch = change(*files)
    ch = type(ch)(ch.meta, ch.files, rules)
    return build_plan(ch, SPECIALISTS, 60_000, 240_000, tiered=tiered)


def test_tiny_code_change_gets_two_with_security_first():
    plan = _plan(file_change("src/app.py"))
    assert plan.tier.name == "small" and _names(plan) == ["security", "correctness"]


def test_docs_only_change_gets_documentation_not_security():
    plan = _plan(file_change("README.md"))
    assert _names(plan) == ["documentation", "rules"]
    assert "security" not in _names(plan)


def test_medium_change_gets_four_and_rules_when_the_repo_has_some():
    big = file_change("src/app.py", added=tuple(range(10, 40)), context=(8, 9))
    plan = _plan(big)
    assert plan.tier.name == "medium"
    assert _names(plan) == ["security", "correctness", "maintainability", "documentation"]
    with_rules = _plan(big, rules=(("REVIEW.md", "rules"),))
    assert _names(with_rules) == ["security", "correctness", "maintainability", "rules"]


@pytest.mark.parametrize("path", ["src/auth/login.py", ".github/workflows/ci.yml", "requirements.txt"])
def test_sensitive_ci_and_dependency_changes_get_everyone_applicable(path):
    plan = _plan(file_change(path))
    assert plan.tier.name == "full"
    assert set(_names(plan)) == {s.name for s in plan.applicable}


def test_large_change_gets_all_seven():
    files = [file_change(f"src/m{i}.py", added=tuple(range(10, 40)), context=(8, 9)) for i in range(4)]
    plan = _plan(*files, file_change("docs/a.md"))
    assert plan.tier.name == "full" and len(plan.specialists) == 7


def test_more_than_fifty_files_is_full():
    assert choose_tier([f"f{i}.py" for i in range(51)], {"code"}, 60).name == "full"


def test_tiering_off_runs_every_applicable_specialist():
    plan = _plan(file_change("src/app.py"), tiered=False)
    assert len(plan.specialists) == 7           # every specialist covers code
    assert plan.tier.reason == "tiered routing is off"


def test_routing_is_visible_in_the_context(tmp_path):
    ws, _ = prepare(change(file_change("src/app.py")), Config(), tmp_path / "ws")
    assert "Tier: small (3 changed lines)." in ws.context_text
    assert ("Not running (the small tier runs 2): performance, maintainability, documentation, release, rules."
            in ws.context_text)


def test_lockfiles_are_summarised_unless_configured_otherwise(tmp_path):
    ch = change(file_change("package-lock.json"), file_change("src/app.py"))
    ws, _ = prepare(ch, Config(), tmp_path / "a")
    assert ws.plan.files[0].reviewers == () and "none: summarised only" in ws.context_text
    ws, _ = prepare(ch, Config(summarise=()), tmp_path / "b")
    assert "security" in ws.plan.files[0].reviewers
