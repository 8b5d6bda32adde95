"""action.yml and the workflows: valid YAML that a user copies as is, wired to `reviewbot github`."""
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from reviewbot.cli import parser
from reviewbot.github.actions import outputs

ROOT = Path(__file__).parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
CI = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
EXAMPLE = yaml.safe_load((ROOT / ".github/workflows/reviewbot.yml").read_text())


def _on(workflow):
    return workflow.get("on", workflow.get(True))          # YAML 1.1 reads a bare `on` as true


def test_action_is_composite_and_its_outputs_are_the_commands():
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert "$GITHUB_ACTION_PATH" in steps[1]["run"]                 # installed from the action's own files
    review = next(s for s in steps if s.get("id") == "review")
    produced = set(outputs(findings=0, new=0, highest_severity="none", calls=()))
    assert set(ACTION["outputs"]) == produced
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.review.outputs.{name} }}}}"
    assert {"anthropic-api-key", "github-token", "model", "config", "fail-on"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["github-token"]["default"] == "${{ github.token }}"
    # no input is pasted into a script (script injection): they go through env
    for step in steps:
        assert "inputs." not in step.get("run", "")
    assert review["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"


def _fake_reviewbot(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "reviewbot"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return bindir


@pytest.mark.parametrize("inputs, argv", [
    ({}, ["github"]),
    ({"REVIEWBOT_MODEL": "claude-opus-4-6", "REVIEWBOT_CONFIG": "ci/review me.toml", "REVIEWBOT_FAIL_ON": "high",
      "REVIEWBOT_REVIEW_DRAFTS": "true"},
     ["github", "--model", "claude-opus-4-6", "--config", "ci/review me.toml", "--fail-on", "high", "--review-drafts"]),
    ({"REVIEWBOT_MODEL": "$(touch pwned)"}, ["github", "--model", "$(touch pwned)"]),
])
def test_the_review_step_builds_the_command_line(tmp_path, inputs, argv):
    script = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "review")["run"]
    env = {"PATH": f"{_fake_reviewbot(tmp_path)}:/usr/bin:/bin", "REVIEWBOT_REVIEW_DRAFTS": "false",
           "RUNNER_TEMP": "/rt", **inputs}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # every run keeps its finished reviewers in the state directory the Actions cache carries over
    assert done.stdout.splitlines() == argv + ["--state-dir", "/rt/reviewbot-state"]
    assert not (tmp_path / "pwned").exists()
    args = parser().parse_args(argv)                                # the real CLI accepts what the action sends
    assert args.command == "github"


def test_the_state_directory_is_restored_before_and_saved_after_the_review():
    steps = ACTION["runs"]["steps"]
    names = [s.get("uses", s.get("id", "")) for s in steps]
    restore, review, save = (names.index("actions/cache/restore@v4"), names.index("review"),
                             names.index("actions/cache/save@v4"))
    assert restore < review < save
    assert steps[save]["if"] == "always()"                         # saved when the review failed, too
    assert steps[restore]["with"]["path"] == steps[save]["with"]["path"] == "${{ runner.temp }}/reviewbot-state"
    key = steps[save]["with"]["key"]
    assert "${{ github.event.pull_request.head.sha }}" in key and "${{ github.run_attempt }}" in key
    assert steps[restore]["with"]["restore-keys"].strip() == key.split("${{ github.run_id }}")[0]


def test_example_workflow_least_privilege_and_never_runs_pr_code():
    on = _on(EXAMPLE)
    # never pull_request_target; the conversation events beside pull_request (README, "Talking to reviewbot")
    assert list(on) == ["pull_request", "issue_comment", "pull_request_review_comment", "pull_request_review"]
    assert on["pull_request"]["types"] == ["opened", "synchronize", "reopened", "ready_for_review"]
    assert on["issue_comment"]["types"] == on["pull_request_review_comment"]["types"] == ["created"]
    assert on["pull_request_review"]["types"] == ["submitted"]
    assert EXAMPLE["permissions"] == {"contents": "read", "pull-requests": "write", "issues": "write"}
    assert EXAMPLE["concurrency"] == {
        "group": "reviewbot-${{ github.event.pull_request.number || github.event.issue.number }}",
        "cancel-in-progress": "${{ github.event_name == 'pull_request' }}"}     # a comment never cancels a review
    job = EXAMPLE["jobs"]["review"]
    cond = job["if"]
    assert "!github.event.pull_request.draft" in cond
    # every conversation event starts a job only for people with write access
    trusted = """contains(fromJSON('["OWNER","MEMBER","COLLABORATOR"]'), github.event."""
    assert cond.count(trusted) == 3 and "github.event.review.author_association" in cond
    checkout, review = job["steps"]
    assert checkout["with"]["ref"] == ("${{ github.event.pull_request.base.sha || "
                                       "github.event.repository.default_branch }}")
    assert checkout["with"]["persist-credentials"] is False
    assert review["uses"] == "./" and review["with"] == {"anthropic-api-key": "${{ secrets.ANTHROPIC_API_KEY }}"}
    assert not any("run" in s for s in job["steps"])


def test_ci_runs_the_readme_commands():
    assert set(_on(CI)) == {"push", "pull_request"} and CI["permissions"] == {"contents": "read"}
    runs = [s["run"] for s in CI["jobs"]["test"]["steps"] if "run" in s]
    assert runs == ["python -m pip install -e '.[test]'", "python -m pytest -q"]
    readme = (ROOT / "README.md").read_text()
    assert all(cmd in readme for cmd in runs)


def test_no_expression_in_a_workflow_run_line():
    for wf in (CI, EXAMPLE):
        for job in wf["jobs"].values():
            for step in job["steps"]:
                assert not re.search(r"\$\{\{\s*github\.event", step.get("run", ""))
