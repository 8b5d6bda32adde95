"""Exit codes and one-line errors: the CLI's public contract."""
import errno
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cassette import cassette
from corpus import GIT_ENV, clone
from helpers import run_cli as _run

from reviewbot import errors
from reviewbot.cli import main
from reviewbot.commands import COMMANDS


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
    def git(*a):
        return subprocess.run(["git", *a], cwd=repo, check=True, env=GIT_ENV)
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


# The one handler (reviewbot.cli.main): each kind of failure is one line (or none) and its code.

def _failing(monkeypatch, exc: BaseException) -> None:
    """`reviewbot review` whose run raises EXC."""
    from reviewbot.commands import review_run

    def review(args):
        raise exc
    monkeypatch.setattr(review_run, "review", review)


@pytest.mark.parametrize("exc,code,line", [
    (errors.InputError("the change cannot be read"), 3, "reviewbot: error: the change cannot be read\n"),
    (errors.MissingCredentials("ANTHROPIC_API_KEY is not set"), 2, "reviewbot: error: ANTHROPIC_API_KEY is not set\n"),
    (errors.BudgetExceeded("budget reached"), 5, "reviewbot: error: budget reached\n"),
    (PermissionError(13, "Permission denied", "out/review.json"), 3,
     "reviewbot: error: out/review.json: Permission denied\n"),
    (IsADirectoryError(21, "Is a directory", "out"), 3, "reviewbot: error: out: Is a directory\n"),
    (ConnectionRefusedError(111, "Connection refused"), 4, "reviewbot: error: Connection refused\n"),
    (KeyboardInterrupt(), 130, "reviewbot: interrupted\n"),
    (BrokenPipeError(32, "Broken pipe"), 141, ""),
    (OSError(errno.EPIPE, "Broken pipe"), 141, ""),
])
def test_the_handler_makes_each_failure_one_line_and_its_code(monkeypatch, capsys, exc, code, line):
    _failing(monkeypatch, exc)
    assert _run(capsys, "review") == (code, "", line)


def test_an_unwritable_output_path_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    """A real OSError from a command (eval's --out under a file), not a traceback."""
    from reviewbot.commands import eval_run

    blocker = tmp_path / "file"
    blocker.write_text("x")
    golden = tmp_path / "golden.json"
    golden.write_text("[]")
    monkeypatch.setattr(eval_run, "load_golden", lambda path: ())
    code, out, err = _run(capsys, "eval", str(golden), "--out", str(blocker / "out"), "-q")
    assert code == 3 and err == f"reviewbot: error: {blocker / 'out'}: Not a directory\n"


def test_an_outcome_message_is_one_line(monkeypatch, capsys):
    from reviewbot.commands import review_run
    monkeypatch.setattr(review_run, "review", lambda args: errors.Outcome(errors.EXIT_PARTIAL, "partial: x failed"))
    assert _run(capsys, "review") == (5, "", "reviewbot: partial: x failed\n")


def test_a_closed_stdout_ends_quietly_with_141(tmp_path):
    """`reviewbot review --format json | head -1` whose reader is gone before the document is written:
    no traceback, no "Exception ignored" at exit, exit 141 (a run that wrote nothing would exit 0)."""
    repo = tmp_path / "repo"
    env = {**GIT_ENV, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "base"], cwd=repo, check=True, env=env)
    child = subprocess.Popen([sys.executable, "-m", "reviewbot", "review", "--repo", str(repo), "--base", "main",
                              "--format", "json", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    child.stdout.close()                      # the reader goes away before anything is written
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141 and err == ""


# The exit-code tables: the README's, each command's help and reviewbot --help, against errors.EXIT_CODES.

README = Path(__file__).resolve().parents[1] / "README.md"
TABLES = {"### Exit codes": "review", "### Exit codes of `reviewbot github`": "github",
          "### Exit codes of `reviewbot bench`": "bench", "### Exit codes of `reviewbot bulk`": "bulk",
          "### Exit codes of `reviewbot eval`": "eval"}


def readme_exit_tables() -> dict[str, list[tuple[int, str, str]]]:
    """The README's exit-code tables: command -> [(code, name, meaning)], markdown as written."""
    tables: dict[str, list[tuple[int, str, str]]] = {}
    command = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            command = TABLES.get(line.strip())
            if command is not None:
                tables[command] = []
        elif command is not None and line.startswith("| ") and line[2:3].isdigit():
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            assert len(cells) == 3, f"README, {command}: a row is not | code | name | meaning |: {line}"
            tables[command].append((int(cells[0]), cells[1], cells[2]))
    return tables


def _head(meaning: str) -> str:
    """What a meaning says before its details: up to the first '(', ':' or ';', without markdown."""
    return re.split(r" \(|[:;]", meaning.replace("`", ""), maxsplit=1)[0].strip()


def _meanings(command: str) -> dict[int, str]:
    module = importlib.import_module(f"reviewbot.commands.{command}")
    return errors.command_exit_codes(module.EXIT_MEANINGS)


def test_the_readme_has_a_table_for_every_command():
    assert set(readme_exit_tables()) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(TABLES.values()))
def test_readme_codes_and_names_are_the_table(command):
    rows = readme_exit_tables()[command]
    assert rows and [code for code, _, _ in rows] == sorted(code for code, _, _ in rows)
    for code, name, _ in rows:
        assert code in errors.BY_CODE and errors.BY_CODE[code].name == name, (command, code, name)
    assert {errors.EXIT_INTERRUPTED, errors.EXIT_BROKEN_PIPE} <= {code for code, _, _ in rows}


# Commands whose module has no EXIT_MEANINGS yet, with the owner who adds it (the merger empties this).
NO_MEANINGS_YET: dict[str, str] = {}


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in NO_MEANINGS_YET])
def test_readme_says_what_the_command_says(command):
    """Same codes as the command's help, and each README meaning begins as the help's does."""
    readme = {code: meaning for code, _, meaning in readme_exit_tables()[command]}
    meanings = _meanings(command)
    assert set(readme) == set(meanings)
    for code, meaning in meanings.items():
        assert _head(readme[code]).startswith(_head(meaning)), (command, code, readme[code], meaning)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in NO_MEANINGS_YET])
def test_the_help_lists_every_code_of_the_command(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for code, meaning in _meanings(command).items():
        assert f" {code} {' '.join(meaning.split())}" in text, (command, code)


def test_the_top_level_help_lists_every_code(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(f"{c.code} {c.name}" in text for c in errors.EXIT_CODES)


def test_a_code_outside_the_table_cannot_be_documented():
    with pytest.raises(ValueError, match="not in errors.EXIT_CODES"):
        errors.exit_code_help({7: "something new"})


@pytest.mark.parametrize("command", ["review", "github"])
def test_the_shared_flags(command, capsys):
    """--dry-run, --keep-workspace DIR, -q/-v: reviewbot.commands.options, the same for every command using it."""
    from reviewbot.cli import parser
    from reviewbot.commands import options

    args = parser().parse_args([command, "--dry-run", "--keep-workspace", "kept", "-q"])
    assert (args.dry_run, args.keep_workspace, args.quiet, args.verbose) == (True, Path("kept"), True, False)
    with pytest.raises(SystemExit) as e:
        parser().parse_args([command, "-q", "-v"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for help_text in (options.DRY_RUN_HELP, options.KEEP_WORKSPACE_HELP, options.QUIET_HELP, options.VERBOSE_HELP):
        assert " ".join(help_text.split()) in text


def test_github_no_post_excludes_dry_run():
    from reviewbot.cli import parser

    assert parser().parse_args(["github", "--no-post"]).no_post
    with pytest.raises(SystemExit) as e:
        parser().parse_args(["github", "--dry-run", "--no-post"])
    assert e.value.code == 2
