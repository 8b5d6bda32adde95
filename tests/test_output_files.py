"""output/files.py: the bulk runs' --out directory and review files, with their one-line errors."""
import pytest

from reviewbot.domain.change import ChangeMeta
from reviewbot.errors import EXIT_INPUT, InputError
from reviewbot.output.files import out_dir, write_review
from reviewbot.output.render import empty_result, render, review_line

RESULT = empty_result(ChangeMeta(title="t", base_ref="main", head_ref="pr", base_sha="a" * 40, head_sha="b" * 40),
                      "nothing to review")


@pytest.mark.parametrize("fmt, ext", [("markdown", "md"), ("json", "json"), ("sarif", "sarif")])
def test_a_review_is_written_under_its_formats_extension(tmp_path, fmt, ext):
    out_dir(tmp_path / "a" / "b")
    path = write_review(RESULT, fmt, tmp_path / "a" / "b", "001-pr7")
    assert path == tmp_path / "a" / "b" / f"001-pr7.{ext}"
    assert path.read_text() == render(RESULT, fmt)


def test_an_output_directory_that_cannot_be_made_is_exit_3(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError) as e:
        out_dir(tmp_path / "file" / "out")
    assert e.value.exit_code == EXIT_INPUT
    assert str(e.value).startswith(f"cannot create the output directory {tmp_path / 'file' / 'out'}: ")


def test_a_review_that_cannot_be_written_is_exit_3(tmp_path):
    with pytest.raises(InputError) as e:
        write_review(RESULT, "json", tmp_path / "missing", "001-x")
    assert str(e.value).startswith(f"cannot write {tmp_path / 'missing' / '001-x.json'}: ")


def test_the_review_line():
    assert review_line(RESULT) == "no_issues, 0 finding(s), 0 call(s), $0.0000, complete"
