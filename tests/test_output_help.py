"""`reviewbot --help` and every subcommand's help: complete, and exit 0."""
import pytest

from reviewbot.cli import main
from reviewbot.commands import COMMANDS


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys):
    text = _help(capsys)
    assert all(name in text for name in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(capsys, command):
    assert _help(capsys, command).startswith(f"usage: reviewbot {command}")


def test_review_help_documents_flags_formats_exit_codes_and_environment(capsys):
    text = _help(capsys, "review")
    for flag in ("--format", "--dry-run", "--record-cassette", "--replay-cassette", "--fail-on", "--quiet",
                 "--verbose", "--keep-workspace", "json,markdown,sarif"):
        assert flag in text
    for line in ("  0  review done", "  1  --fail-on", "  2  usage", "  3  the change", "  4  the API",
                 "  5  partial review", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        assert line in text
