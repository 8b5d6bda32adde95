"""Exit codes and one-line errors: the CLI's public contract."""
import subprocess

import pytest
from cassette import cassette
from corpus import GIT_ENV, clone
from helpers import run_cli as _run

from reviewbot.cli import main


@pytest.fixture
def repo(tmp_path):
    path, _ = clone("unidiff-126", tmp_path)
    return path




@pytest.fixture(autouse=True)
def no_real_api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")     # nothing listens: fail fast, never leave


def test_missing_api_key_is_a_usage_error(repo, capsys, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr")
    assert code == 2 and out == ""
    assert err == "reviewbot: error: ANTHROPIC_API_KEY is not set\n"


def test_not_a_git_repository(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    code, out, err = _run(capsys, "review", "--repo", str(tmp_path))
    assert code == 3 and out == "" and err.startswith("reviewbot: error: ") and err.count("\n") == 1
    assert "not a git repository" in err


def test_unknown_ref(repo, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "nope", "--head", "pr")
    assert code == 3 and "nope" in err and err.count("\n") == 1


def test_empty_change_is_not_an_error(repo, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "pr", "--head", "pr")
    assert code == 0 and out == "" and "nothing to review" in err


def test_bad_config_names_the_key(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    bad = tmp_path / "bad.toml"
    bad.write_text("max_turns = -1\n")
    code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr", "--config", str(bad))
    assert code == 2 and "'max_turns'" in err and err.count("\n") == 1


def _commit(repo, files, msg):
    for name, text in files.items():
        (repo / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=GIT_ENV)
    subprocess.run(["git", "commit", "-qm", msg], cwd=repo, check=True, env=GIT_ENV)


def test_config_comes_from_the_base_commit_not_the_change(repo, capsys, monkeypatch):
    """The base's config is used (max_retries = 0: the unreachable API fails at once, exit 4) and the bad
    one the change adds is ignored; once that bad file is in the base, it is used (exit 2)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, env=GIT_ENV)
    git("checkout", "-q", "-b", "b2", "pr")
    _commit(repo, {".reviewbot.toml": "max_retries = 0\n"}, "base config")
    git("checkout", "-q", "-b", "h2")
    _commit(repo, {".reviewbot.toml": "max_turns = -1\n", "y.py": "y = 2\n"}, "head rewrites the config")
    code, _, err = _run(capsys, "review", "--repo", str(repo), "--base", "b2", "--head", "h2", "--warmup", "none")
    assert code == 4 and "cannot reach the Anthropic API" in err
    git("checkout", "-q", "-b", "h3")
    _commit(repo, {"x.py": "x = 1\n"}, "more")
    code, _, err = _run(capsys, "review", "--repo", str(repo), "--base", "h2", "--head", "h3")
    assert code == 2 and ".reviewbot.toml: 'max_turns'" in err


def test_diff_file_and_its_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    code, _, err = _run(capsys, "review", "--diff", str(tmp_path / "none.diff"))
    assert code == 3 and "cannot read diff" in err
    code, _, err = _run(capsys, "review", "--diff", "x.diff", "--base", "main")
    assert code == 2 and "does not take --base" in err
    malformed = tmp_path / "m.diff"
    malformed.write_text("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n")
    code, _, err = _run(capsys, "review", "--diff", str(malformed))
    assert code == 3 and err.startswith("reviewbot: error: malformed diff")


def test_bad_flag_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["review", "--format", "yaml"])
    assert e.value.code == 2


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "review" in capsys.readouterr().err


@pytest.mark.parametrize("fail_on,expected", [("nit", 1), (None, 0)])
def test_fail_on_and_markdown_output(repo, tmp_path, capsys, monkeypatch, fail_on, expected):
    """Same requests as the e2e JSON run, so the same cassette serves: the format is not sent."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8787")
    config = tmp_path / "all.toml"
    config.write_text('routing = "all"\n')
    args = ["review", "--repo", str(repo), "--base", "base", "--head", "pr", "-q", "--config", str(config)]
    from cassette import CASSETTES

    from reviewbot.llm.cassettes import make_vcr
    with make_vcr(CASSETTES, "none").use_cassette("test_e2e_review_unidiff-126.yaml"):   # replayed, never re-recorded
        code, out, err = _run(capsys, *args, *(["--fail-on", fail_on] if fail_on else []))
    assert code == expected
    assert out.startswith("# reviewbot: ") and "## Findings (" in out and "## Usage" in out
    assert err == ""                                           # -q: nothing on stderr


def test_resume_needs_a_kept_run(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    code, _, err = _run(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr", "--resume", str(empty))
    assert code == 3 and "cannot resume: no kept workspace" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:
        main(["review", "--keep-workspace", "a", "--resume", "b"])
    assert e.value.code == 2


def test_an_invalid_api_key_is_one_line_and_exit_4(repo, capsys, monkeypatch):
    """Recorded on cachesim answering 401 to everything: the run stops at the first call."""
    from cassette import api_url, reset_cachesim
    monkeypatch.setenv("ANTHROPIC_API_KEY", "not-a-valid-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api_url())
    reset_cachesim({"fault_plan": [{"match": {"every": 1}, "status": 401, "message": "invalid x-api-key"}]})
    with cassette("test_cli_invalid_key.yaml") as tape:
        code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr")
    reset_cachesim()
    assert code == 4 and out == ""
    assert err.splitlines()[-1] == "reviewbot: error: Anthropic API rejected the API key (401): check ANTHROPIC_API_KEY"
    assert len(tape.requests) == 1 and "not-a-valid-key" not in str(tape.requests[0].headers)
