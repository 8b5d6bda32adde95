"""Every diff sample is reviewed (a workspace is built) or refused with one clear line."""
from pathlib import Path

import pytest

from reviewbot.change.diffsource import read_diff_file
from reviewbot.config import Config
from reviewbot.errors import InputError
from reviewbot.pipeline.review import prepare

SAMPLES = sorted((Path(__file__).parent / "data" / "diff-samples").glob("*.diff"))
MALFORMED = {"sample1.diff", "sample2.diff", "sample6.diff", "sample7.diff"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_each_sample_is_reviewable_or_refused(sample, tmp_path):
    if sample.name in MALFORMED:
        with pytest.raises(InputError) as e:
            read_diff_file(str(sample))
        assert str(e.value).startswith("malformed diff") and "\n" not in str(e.value)
        return
    ch = read_diff_file(str(sample))
    assert ch.files
    ws, prefix = prepare(ch, Config(), tmp_path / "ws")
    assert (ws.root / "shared-mr-context.txt").is_file()
    assert len(list((ws.root / "diff").iterdir())) == len(ch.files)


def test_not_a_diff(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="^malformed diff: no file header"):
        read_diff_file(str(p))
    with pytest.raises(InputError, match="cannot read diff"):
        read_diff_file(str(tmp_path / "missing.diff"))
