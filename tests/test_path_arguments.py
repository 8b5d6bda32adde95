"""Every path argument of the wrong kind is one line on stderr and its exit code, never a traceback."""
from __future__ import annotations

import subprocess

import pytest
from corpus import GIT_ENV

from reviewbot.cli import main


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    def run(*a):
        subprocess.run(["git", *a], cwd=r, check=True, capture_output=True, env=GIT_ENV)
    run("init", "-q", "-b", "main")
    (r / "a.py").write_text("x = 1\n")
    run("add", "-A")
    run("commit", "-q", "-m", "base")
    run("checkout", "-q", "-b", "feature")
    (r / "a.py").write_text("x = 2\n")
    run("commit", "-qam", "change")
    return r


@pytest.fixture
def places(tmp_path):
    f = tmp_path / "a-file.txt"
    f.write_text("not a directory\n")
    d = tmp_path / "a-dir"
    d.mkdir()
    return f, d


CASES = [
    # (arguments, exit code, what the line says); {f} is a file, {d} a directory
    (["--keep-workspace", "{f}"], 3, "--keep-workspace {f}: is a file, not a directory"),
    (["--keep-workspace", "{f}/sub"], 3, "--keep-workspace {f}/sub: {f} is a file, not a directory"),
    (["--resume", "{f}"], 3, "--resume {f}: is a file, not a directory"),
    (["--resume", "{d}/missing"], 3, "cannot resume: no kept workspace in {d}/missing"),
    (["--config", "{d}"], 2, "--config {d}: is a directory, not a config file"),
    (["--replay-cassette", "{d}"], 2, "--replay-cassette {d}: is a directory, not a cassette file"),
    (["--record-cassette", "{d}"], 2, "--record-cassette {d}: is a directory, not a cassette file"),
    (["--diff", "{d}"], 3, "--diff {d}: is a directory, not a patch file"),
    (["--repo", "{f}"], 3, "--repo {f}: not a directory"),
    (["--repo", "{d}/missing"], 3, "--repo {d}/missing: no such directory"),
]


@pytest.mark.parametrize("args, code, message", CASES, ids=[c[0][0] + ":" + c[2][:30] for c in CASES])
def test_a_path_of_the_wrong_kind_is_one_line_and_its_exit_code(repo, places, capsys, monkeypatch, args, code, message):
    f, d = places
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    def fill(s):
        return s.replace("{f}", str(f)).replace("{d}", str(d))
    base = [] if "--repo" in args or "--diff" in args else ["--repo", str(repo), "--base", "main"]
    assert main(["review", *base, *map(fill, args)]) == code
    err = capsys.readouterr().err
    assert err.splitlines() == [f"reviewbot: error: {fill(message)}"] or (
        len(err.splitlines()) == 1 and err.startswith(f"reviewbot: error: {fill(message)}"))
    assert "Traceback" not in err


def test_keep_workspace_on_a_non_empty_directory_is_refused_before_any_call(repo, places, capsys, monkeypatch):
    _, d = places
    (d / "x").write_text("")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    assert main(["review", "--repo", str(repo), "--base", "main", "--keep-workspace", str(d)]) == 3
    assert capsys.readouterr().err == f"reviewbot: error: workspace directory is not empty: {d}\n"


def test_a_workspace_that_is_a_file_is_refused_wherever_it_comes_from(tmp_path):
    from helpers import change

    from reviewbot.domain.specialists import SPECIALISTS
    from reviewbot.errors import InputError
    from reviewbot.workspace.files import write_workspace
    from reviewbot.workspace.layout import build_plan

    f = tmp_path / "ws"
    f.write_text("")
    plan = build_plan(change(), SPECIALISTS, 60_000, 240_000)
    with pytest.raises(InputError, match="is a file, not a directory"):
        write_workspace(f, plan, "context")
