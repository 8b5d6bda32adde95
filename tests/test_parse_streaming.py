"""The one-pass diff parser (reviewbot.change.parse) on large and odd inputs, and detect-secrets
fed in chunks (reviewbot.secrets.detect). No timing here: tools/scale.py measures."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from reviewbot.change import parse
from reviewbot.change.parse import parse_diff
from reviewbot.domain.change import Hunk, Line, LineSet
from reviewbot.errors import DiffParseError, InputError

detect = importlib.import_module("reviewbot.secrets.detect")   # the module (the package exports the function)

DATA = Path(__file__).parent / "data" / "diff-samples"


def _file(i: int, lines: int = 3) -> str:
    body = "".join(f"+line {n} of file {i}\n" for n in range(lines))
    return (f"diff --git a/d/f{i}.py b/d/f{i}.py\nnew file mode 100644\nindex 0000000..1111111\n"
            f"--- /dev/null\n+++ b/d/f{i}.py\n@@ -0,0 +1,{lines} @@\n{body}")


def test_many_files_each_patch_is_its_own_slice_of_the_input() -> None:
    text = "".join(_file(i) for i in range(2000))
    files = parse_diff(text)
    assert [f.path for f in files] == [f"d/f{i}.py" for i in range(2000)]
    assert "".join(f.patch for f in files) == text
    assert all(f.status == "added" and f.additions == 3 and f.hunks[0].lines[2].new_no == 3 for f in files)


def test_one_huge_file_keeps_every_line_and_number() -> None:
    n = 50_000
    files = parse_diff(_file(0, n))
    (f,) = files
    assert f.additions == n and len(f.hunks[0].lines) == n
    assert f.hunks[0].lines[-1].text == f"line {n - 1} of file 0" and f.hunks[0].lines[-1].new_no == n


def test_files_are_handed_out_as_they_start() -> None:
    """Streaming: a file comes out at its first line and is complete when the next one comes out,
    before the parser has read the broken rest."""
    text = _file(0) + "diff --git a/x b/x\n@@ -1,2 +1,2 @@\n-only one line\n"
    files = parse._iter_files(parse._Lines(text))
    first = next(files)
    assert first.target_file == "b/d/f0.py" and first.hunks == []
    second = next(files)
    assert second.target_file == "b/x" and len(first.hunks) == 1 and first.last_numbered == 9
    with pytest.raises(DiffParseError, match="shorter"):
        list(files)
    with pytest.raises(InputError, match=r"malformed diff: a hunk has fewer lines than its @@ header says \(line 12\)"):
        parse_diff(text)


def test_lines_are_offsets_into_the_text() -> None:
    lines = parse._Lines("a\nb\r\nc\rd\nlast")
    assert len(lines) == 4
    assert [lines[i] for i in range(4)] == ["a\n", "b\r\n", "c\rd\n", "last"]
    assert lines.joined(1, 3) == "b\r\nc\rd\n"
    assert len(parse._Lines("x\n")) == 1 and len(parse._Lines("")) == 0


@pytest.mark.parametrize(("text", "message"), [
    ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n", "more lines than its @@ header says (line 6)"),
    ("\\ No newline at end of file\n", "Unexpected marker: \\ No newline at end of file (line 1)"),
    ("diff --git a/x b/x\n\\ No newline at end of file\n", "Unexpected marker: No newline at end of file (line 2)"),
    ("+++ b/x\n@@ -1 +1 @@\n", "a '+++' line without its '---' line: '+++ b/x' (line 1)"),
    ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\nnot a hunk line\n", "fewer lines than its @@ header says; it ends at"),
])
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_diff(text)
    assert str(err.value).startswith("malformed diff: ") and message in str(err.value)


def test_no_newline_markers_inside_and_after_a_hunk() -> None:
    text = ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
            "\\ No newline at end of file\n")
    (f,) = parse_diff(text)
    assert [(ln.kind, ln.text) for ln in f.hunks[0].lines] == [(" ", "a"), ("-", "b"), ("+", "c")]
    assert f.patch == text


def test_empty_lines_in_a_hunk_are_context_and_crlf_documents_are_converted() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n"
    (f,) = parse_diff(text)
    assert [(ln.kind, ln.old_no, ln.new_no) for ln in f.hunks[0].lines] == [
        (" ", 1, 1), (" ", 2, 2), ("-", 3, None), ("+", None, 3)]
    (g,) = parse_diff(text.replace("\n", "\r\n"))
    assert g.patch == text


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.diff")))
def test_samples_patches_are_slices_in_order(name: str) -> None:
    """Every odd sample (hg, svn, bzr, binary, renames, quoted names, CR content) parses or is
    rejected as malformed, never a crash; each file's patch is a verbatim, in-order piece of it."""
    text = (DATA / name).read_text(encoding="utf-8", errors="replace")
    try:
        files = parse_diff(text)
    except InputError as err:
        assert str(err).startswith("malformed diff: ")
        return
    assert files
    pos = 0
    for f in files:
        piece = f.patch if text.find(f.patch, pos) >= 0 else f.patch.removesuffix("\n")
        found = text.find(piece, pos)
        assert found >= 0, f.path
        pos = found + len(piece)


def test_detect_secrets_in_chunks_sees_the_same_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """An allowlist comment on the line before a secret suppresses it even when the two lines land in
    different chunks; secrets in any chunk are found with their own line numbers."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    aws = "AKIA" + "Z7Q2W9X4C6V8B1N3"
    lines = [(n, f"x{n} = 1") for n in range(1, 40)]
    lines[8] = (9, "# pragma: allowlist nextline secret")
    lines[9] = (10, f'password = "{token}"')
    lines[25] = (26, f'aws_key = "{aws}"')
    whole = list(detect.detect("app.py", lines))
    monkeypatch.setattr(detect, "CHUNK_LINES", 3)          # line 9 ends a chunk, line 10 starts the next
    chunked = list(detect.detect("app.py", lines))
    assert chunked == whole
    assert {n for n, _, _ in whole} == {26}


def test_parsed_hunks_hold_offsets_into_the_patch_not_line_records() -> None:
    text = ("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,4 @@ def f\n a\n-b\n\\ No newline at end of file\n"
            "+c\n+d\n\n@@ -10,2 +11,1 @@\n-y\n z\n")
    (f,) = parse_diff(text)
    first, second = f.hunks
    assert "_given" in Hunk.__slots__ and first._given is None      # no Line tuple kept
    assert first.lines == (Line(" ", 1, 1, "a"), Line("-", 2, None, "b"), Line("+", None, 2, "c"),
                           Line("+", None, 3, "d"), Line(" ", 3, 4, ""))
    assert list(second.iter_lines()) == [Line("-", 10, None, "y"), Line(" ", 11, 11, "z")]
    assert first == Hunk(1, 3, 1, 4, "def f", first.lines)           # equal to the same hunk built from lines
    assert (f.additions, f.deletions) == (2, 2)
    assert f.commentable_lines == {1, 2, 3, 4, 11} and f.added_lines == frozenset({2, 3})
    assert f.hunk_index(4) == 0 and f.hunk_index(11) == 1 and f.hunk_index(5) is None


def test_line_sets_are_runs_that_compare_like_sets() -> None:
    s = LineSet([(5, 8), (1, 3), (3, 4), (20, 21), (9, 9)])
    assert list(s) == [1, 2, 3, 5, 6, 7, 20] and len(s) == 7
    assert s == {1, 2, 3, 5, 6, 7, 20} and frozenset({1, 2, 3, 5, 6, 7, 20}) == s and s != {1, 2}
    assert 4 not in s and 7 in s and 8 not in s and "7" not in s and 0 not in s
    many = LineSet([(1, 200_001)])
    assert len(many) == 200_000 and 200_000 in many and len(many._starts) == 1   # one run, not 200,000 entries
