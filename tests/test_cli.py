"""Exit codes and one-line errors: the CLI's public contract."""
import subprocess

import pytest

from reviewbot.cli import main

from cassette import cassette
from corpus import GIT_ENV, clone


@pytest.fixture
def repo(tmp_path):
    path, _ = clone("unidiff-126", tmp_path)
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


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


def test_bad_config_names_the_key(repo, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    (repo / ".reviewbot.toml").write_text("max_turns = -1\n")
    code, out, err = _run(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr")
    assert code == 2 and "'max_turns'" in err and err.count("\n") == 1


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
    with cassette("test_e2e_review_unidiff-126.yaml"):
        code, out, err = _run(capsys, *args, *(["--fail-on", fail_on] if fail_on else []))
    assert code == expected
    assert out.startswith("# reviewbot: ") and "## Findings (" in out and "## Usage" in out
    assert err == ""                                           # -q: nothing on stderr
