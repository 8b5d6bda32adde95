"""parse_diff and file_change_from_patch: every diff sample, line records, paths, CRLF, errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from reviewbot.change.parse import file_change_from_patch, parse_diff
from reviewbot.domain.change import ADDED, COPIED, DELETED, MODIFIED, RENAMED, FileChange, Line
from reviewbot.errors import InputError

SAMPLES = Path(__file__).parent / "data" / "diff-samples"


def sample(name: str) -> str:
    """A sample as text, exactly: bytes decoded, no newline translation (git_cr.diff has lone CRs)."""
    return (SAMPLES / name).read_bytes().decode("utf-8")


def summary(fc: FileChange) -> tuple:
    return (fc.path, fc.status, fc.old_path, fc.additions, fc.deletions, len(fc.hunks), fc.is_binary,
            fc.old_mode, fc.new_mode)


# (path, status, old_path, additions, deletions, hunks, is_binary, old_mode, new_mode) per file,
# or the text the InputError must hold. Read off the samples themselves.
VCS_TRIO = [  # bzr, hg, svn: the same three files, no modes
    ("added_file", ADDED, None, 4, 0, 1, False, None, None),
    ("modified_file", MODIFIED, None, 3, 1, 1, False, None, None),
    ("removed_file", DELETED, None, 0, 3, 1, False, None, None),
]
EXPECTED: dict[str, list[tuple] | str] = {
    "binary.diff": [("1x1.png", ADDED, None, 0, 0, 0, True, None, "100644")],
    "bzr.diff": VCS_TRIO,
    "debdiff.diff": [
        ("added.txt", ADDED, None, 1, 0, 1, False, None, None),
        ("a.png", MODIFIED, None, 0, 0, 0, True, None, None),
        ("b.png", MODIFIED, None, 0, 0, 0, True, None, None),
    ],
    "git.diff": [
        ("added_file", ADDED, None, 4, 0, 1, False, None, "100644"),
        ("modified_file", MODIFIED, None, 3, 1, 1, False, "100644", "100644"),
        ("removed_file", DELETED, None, 0, 3, 1, False, "100644", None),
    ],
    "git_cr.diff": [("src/test/org/apache/commons/math/util/ExpandableDoubleArrayTest.java",
                     ADDED, None, 3, 0, 1, False, None, "100644")],
    "git_delete.diff": [("somefile.c", DELETED, None, 0, 10, 1, False, "100644", None)],
    "git_filenames_with_spaces.diff": [("has spaces/t.sql", ADDED, None, 1, 0, 1, False, None, "100644")],
    "git_filenames_with_spaces_prefix.diff": [("foo bar/baz", ADDED, None, 1, 0, 1, False, None, "100644")],
    "git_no_prefix.diff": [
        ("file1", DELETED, None, 0, 3, 1, False, "100644", None),
        ("file2", MODIFIED, None, 6, 0, 2, False, "100644", "100644"),
        ("file3", ADDED, None, 3, 0, 1, False, None, "100644"),
    ],
    "git_quoted_filename.diff": [("A \u00e2 B.py", ADDED, None, 1, 0, 1, False, None, "100644")],
    "git_quoted_filename_with_spaces.diff": [
        ("docs/develop/Bug \u6392\u67e5.md", MODIFIED, None, 1, 1, 1, False, "100644", "100644")],
    "git_rename.diff": [
        ("moved", RENAMED, "added", 1, 1, 1, False, "100644", "100644"),
        ("newfile", RENAMED, "oldfile", 1, 1, 1, False, "100644", "100644"),
        ("sub/otherfile", RENAMED, "sub/onefile", 0, 0, 0, False, None, None),
    ],
    "git_symlink.diff": [("bin/check", ADDED, None, 1, 0, 1, False, None, "120000")],
    "hg.diff": VCS_TRIO,
    "sample0.diff": [
        ("/path/to/new", MODIFIED, None, 12, 8, 3, False, None, None),
        ("/path/to/another_new", ADDED, None, 9, 0, 1, False, None, None),
        ("/path/to/existing", DELETED, None, 0, 9, 1, False, None, None),
    ],
    "sample1.diff": "fewer lines than its @@ header says; it ends at '@@ -22,3 +22,7 @@' (line 32)",
    "sample2.diff": "fewer lines than its @@ header says (line 53)",
    "sample3.diff": [
        ("added_file", ADDED, None, 4, 0, 1, False, None, None),
        ("modified_file", MODIFIED, None, 4, 2, 1, False, None, None),
        ("removed_file", DELETED, None, 0, 3, 1, False, None, None),
    ],
    "sample4.diff": VCS_TRIO,
    "sample5.diff": [
        ("modified_file1", MODIFIED, None, 3, 1, 1, False, None, None),
        ("modified_file2", MODIFIED, None, 3, 1, 1, False, None, None),
    ],
    "sample6.diff": "more lines than its @@ header says (line 32)",
    "sample7.diff": "fewer lines than its @@ header says (line 29)",
    "sample8.diff": [
        ("boo.bin", ADDED, None, 0, 0, 0, False, None, "100644"),
        ("foo.bin", ADDED, None, 0, 0, 0, True, None, "100644"),
        ("bar.bin", MODIFIED, None, 0, 0, 0, True, "100644", "100644"),
        ("baz.bin", DELETED, None, 0, 0, 0, True, "100644", None),
        ("fuz.bin", ADDED, None, 0, 0, 0, False, None, "100644"),
    ],
    "svn.diff": [VCS_TRIO[1], VCS_TRIO[2], VCS_TRIO[0]],
}


def test_every_sample_has_an_expectation():
    assert sorted(p.name for p in SAMPLES.glob("*.diff")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name):
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(InputError) as caught:
            parse_diff(sample(name))
        message = str(caught.value)
        assert message.startswith("malformed diff: ") and "\n" not in message
        assert expected in message
        return
    files = parse_diff(sample(name))
    assert [summary(fc) for fc in files] == expected
    for fc in files:
        assert fc.path and "/dev/null" not in (fc.path, fc.old_path)
        assert fc.patch.endswith("\n") and fc.note == ""
        assert all(ln.kind in "+- " and not ln.text.endswith("\n") for h in fc.hunks for ln in h.lines)
        assert not any("No newline at end of file" in ln.text for h in fc.hunks for ln in h.lines)
        assert fc.additions == sum(ln.kind == "+" for h in fc.hunks for ln in h.lines)


# --- patches: the input cut per file ---------------------------------------------------------


@pytest.mark.parametrize("name", ["git_no_prefix.diff", "git_delete.diff", "git_symlink.diff", "sample8.diff",
                                  "git_quoted_filename_with_spaces.diff"])
def test_git_patches_join_back_to_the_input(name):
    assert "".join(fc.patch for fc in parse_diff(sample(name))) == sample(name)


def test_patch_drops_blank_separators_and_foreign_preambles():
    git_rename = parse_diff(sample("git_rename.diff"))
    assert "".join(fc.patch for fc in git_rename) == sample("git_rename.diff").replace("content\n\n", "content\n")
    svn = parse_diff(sample("svn.diff"))
    assert svn[0].patch.startswith("--- modified_file\t(revision 191)\n+++ modified_file\t(working copy)\n@@")
    assert svn[0].patch.endswith(" This will stay.\n\\ No newline at end of file\n")
    assert "Index:" not in "".join(fc.patch for fc in svn)
    hg = parse_diff(sample("hg.diff"))
    assert hg[0].patch.startswith("--- /dev/null\tThu Jan 01") and "diff -r" not in hg[1].patch


def test_binary_patch_keeps_its_payload_but_not_the_mail_signature():
    (png,) = parse_diff(sample("binary.diff"))
    assert png.patch.startswith("diff --git a/1x1.png b/1x1.png\nnew file mode 100644\n")
    assert png.patch.endswith("GIT binary patch\nliteral 95\n" + png.patch.split("literal 95\n")[1])
    assert png.patch.endswith("\nliteral 0\nHcmV?d00001\n")
    assert "2.38.1" not in png.patch and "Subject:" not in png.patch


def test_mail_signature_after_the_last_hunk_is_not_part_of_the_patch():
    body = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    (fc,) = parse_diff("Subject: [PATCH] x\n\n---\n x | 2 +-\n\n" + body + "-- \n2.39.5\n\n")
    assert fc.patch == body


def test_patch_is_deterministic_and_newline_terminated():
    text = sample("git_no_prefix.diff").rstrip("\n")  # input without its final newline
    first, second = parse_diff(text), parse_diff(text)
    assert first == second
    assert first[-1].patch.endswith("+line33\n")


# --- lines and numbers -----------------------------------------------------------------------


def test_modified_file_lines_and_numbers():
    modified = parse_diff(sample("git.diff"))[1]
    (hunk,) = modified.hunks
    assert (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len, hunk.section) == (1, 5, 1, 7, "")
    assert hunk.lines == (
        Line(" ", 1, 1, "This is the original content."),
        Line(" ", 2, 2, ""),
        Line("-", 3, None, "This should be updated."),
        Line("+", None, 3, "This is now updated."),
        Line("+", None, 4, ""),
        Line("+", None, 5, "This is a new line."),
        Line(" ", 4, 6, ""),
        Line(" ", 5, 7, "This will stay."),
    )
    assert modified.added_lines == {3, 4, 5}
    assert modified.commentable_lines == {1, 2, 3, 4, 5, 6, 7}


def test_hunk_sections_and_numbers_follow_the_headers():
    file2 = parse_diff(sample("git_no_prefix.diff"))[1]
    assert [(h.old_start, h.old_len, h.new_start, h.new_len, h.section) for h in file2.hunks] == [
        (4, 0, 5, 3, "line24"), (15, 0, 19, 3, "line215")]
    assert [ln.new_no for ln in file2.hunks[1].lines] == [19, 20, 21]
    first = parse_diff(sample("sample0.diff"))[0]
    assert first.hunks[0].section == "Section Header"
    assert [(ln.old_no, ln.new_no) for ln in first.hunks[1].lines[:4]] == [(5, 11), (6, 12), (7, 13), (8, None)]
    deleted = parse_diff(sample("git_delete.diff"))[0]
    assert deleted.hunks[0].lines[7] == Line("-", 8, None, '\tprintf("Hello World\\n");')


def test_no_newline_marker_in_the_middle_of_a_hunk():
    modified = parse_diff(sample("sample3.diff"))[1]
    assert [(ln.kind, ln.text) for ln in modified.hunks[0].lines[-2:]] == [
        ("-", "This will stay."), ("+", "This will stay.")]
    assert "holá mundo!" in [ln.text for ln in parse_diff(sample("sample3.diff"))[0].hunks[0].lines]


# --- CRLF ---------------------------------------------------------------------------------


def test_lone_cr_does_not_split_a_line():
    (java,) = parse_diff(sample("git_cr.diff"))
    texts = [ln.text for ln in java.hunks[0].lines]
    assert len(texts) == 3
    assert texts[0] == ' "This line is broken into two lines by CR. " +\r\t\t"but it should be treated as one line in the text diff file"'
    assert texts[2].endswith('"but it should also be treated as one line in the text diff file". ')
    assert "\r" in java.patch and java.patch.count("\n") == 9  # 5 header lines, 1 @@, 3 lines


def test_crlf_file_content_keeps_its_cr():
    added, modified, _ = parse_diff(sample("sample4.diff"))
    assert [ln.text for ln in added.hunks[0].lines] == [
        "This was missing!\r", "holá mundo!\r", "\r", "Only for testing purposes."]
    assert "+This was missing!\r\n+holá mundo!\r\n" in added.patch
    assert modified.hunks[0].lines[1] == Line(" ", 2, 2, "\r")


def test_blank_context_lines_without_their_space():
    file1, file2 = parse_diff(sample("sample5.diff"))
    assert file1.hunks[0].lines[6] == Line(" ", 4, 6, "\r")
    assert file2.hunks[0].lines[6] == Line(" ", 4, 6, "")


def test_a_diff_converted_to_crlf_as_a_whole_parses_as_the_original():
    original = sample("git.diff")
    converted = parse_diff(original.replace("\n", "\r\n"))
    assert converted == parse_diff(original)


def test_crlf_document_keeps_content_cr():
    text = "diff --git a/w.txt b/w.txt\r\n--- a/w.txt\r\n+++ b/w.txt\r\n@@ -1 +1 @@\r\n-old\r\r\n+new\r\r\n"
    (fc,) = parse_diff(text)
    assert [ln.text for ln in fc.hunks[0].lines] == ["old\r", "new\r"]
    assert fc.patch == "diff --git a/w.txt b/w.txt\n--- a/w.txt\n+++ b/w.txt\n@@ -1 +1 @@\n-old\r\n+new\r\n"


# --- paths and statuses --------------------------------------------------------------------


def test_c_quoted_names_with_escapes_are_decoded():
    text = ('diff --git "a/caf\\303\\251 \\"q\\" \\\\ \\t.txt" "b/caf\\303\\251 \\"q\\" \\\\ \\t.txt"\n'
            "new file mode 100644\n--- /dev/null\n"
            '+++ "b/caf\\303\\251 \\"q\\" \\\\ \\t.txt"\t\n@@ -0,0 +1 @@\n+x\n')
    (fc,) = parse_diff(text)
    assert fc.path == 'café "q" \\ \t.txt' and fc.status == ADDED


def test_rename_with_one_quoted_side_and_spaces():
    text = ('diff --git a/has space.txt "b/q\\"x.txt"\nsimilarity index 100%\n'
            'rename from has space.txt\nrename to "q\\"x.txt"\n')
    (fc,) = parse_diff(text)
    assert (fc.path, fc.old_path, fc.status, fc.hunks) == ('q"x.txt', "has space.txt", RENAMED, ())
    assert fc.patch == text


def test_ambiguous_unquoted_rename_header_falls_back_to_rename_lines():
    text = ("diff --git a/x b/y b/x b/z\nsimilarity index 100%\nrename from x b/y\nrename to x b/z\n")
    (fc,) = parse_diff(text)
    assert (fc.old_path, fc.path) == ("x b/y", "x b/z")


def test_copy_mode_change_and_deletion_paths():
    text = ("diff --git a/src.py b/dst.py\nsimilarity index 100%\ncopy from src.py\ncopy to dst.py\n"
            "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
            "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\nindex 1234567..0000000\n"
            "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n")
    copy, mode, gone = parse_diff(text)
    assert (copy.path, copy.old_path, copy.status) == ("dst.py", "src.py", COPIED)
    assert (mode.path, mode.status, mode.old_mode, mode.new_mode, mode.hunks) == (
        "run.sh", MODIFIED, "100644", "100755", ())
    assert mode.patch == "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    assert (gone.path, gone.old_path, gone.status) == ("old.txt", None, DELETED)


def test_a_and_b_are_kept_when_they_are_real_directories():
    text = "diff --git a/x a/x\n--- a/x\n+++ a/x\n@@ -1 +1 @@\n-1\n+2\n"  # --no-prefix, file a/x
    assert parse_diff(text)[0].path == "a/x"


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "  \n\n"])
def test_empty_text_gives_no_files(text):
    assert parse_diff(text) == ()


@pytest.mark.parametrize("text, reason", [
    ("hello\nthis is not a diff\n", "no file header"),
    ("@@ -1 +1 @@\n-a\n+b\n", "a hunk without a file header"),
    ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n", "fewer lines"),
    ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n", "more lines"),
    ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n?junk\n", "fewer lines"),
    ("--- \n+++ \n", "without a file name"),
    ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n c\n", "more lines"),
])
def test_malformed_input_is_one_line_input_error(text, reason):
    with pytest.raises(InputError) as caught:
        parse_diff(text)
    message = str(caught.value)
    assert message.startswith("malformed diff: ") and reason in message and "\n" not in message


# --- GitHub API patches ------------------------------------------------------------------


def test_api_patch_of_a_modified_file_gets_a_git_header():
    fc = file_change_from_patch("src/app.py", "modified", "@@ -1,2 +1,2 @@ def f():\n a\n-b\n+c")
    assert fc.patch == ("diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"
                        "@@ -1,2 +1,2 @@ def f():\n a\n-b\n+c\n")
    assert (fc.status, fc.additions, fc.deletions, fc.old_path, fc.note) == (MODIFIED, 1, 1, None, "")
    assert fc.hunks[0].lines == (Line(" ", 1, 1, "a"), Line("-", 2, None, "b"), Line("+", None, 2, "c"))


def test_api_patch_of_added_and_removed_files():
    added = file_change_from_patch("new.txt", "added", "@@ -0,0 +1 @@\n+hi\n\\ No newline at end of file")
    assert added.patch == ("diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n"
                           "+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\n\\ No newline at end of file\n")
    removed = file_change_from_patch("gone.txt", "removed", "@@ -1 +0,0 @@\n-bye")
    assert (removed.status, removed.path, removed.deletions) == (DELETED, "gone.txt", 1)
    assert "--- a/gone.txt\n+++ /dev/null\n" in removed.patch
    assert added.new_mode is None and removed.old_mode is None  # not known from the API


def test_api_patch_of_a_renamed_file_with_odd_names_reads_like_git():
    fc = file_change_from_patch("caf\u00e9 dir/x y.txt", "renamed", "@@ -1 +1 @@\n-a\n+b", old_path='old "q".txt')
    assert fc.patch.splitlines()[:5] == [
        'diff --git "a/old \\"q\\".txt" "b/caf\\303\\251 dir/x y.txt"',
        'rename from "old \\"q\\".txt"',
        'rename to "caf\\303\\251 dir/x y.txt"',
        '--- "a/old \\"q\\".txt"\t',
        '+++ "b/caf\\303\\251 dir/x y.txt"\t',
    ]
    assert (fc.path, fc.old_path, fc.status) == ("caf\u00e9 dir/x y.txt", 'old "q".txt', RENAMED)


@pytest.mark.parametrize("args", [
    ("a.py", "modified", "@@ -1 +1 @@\n-a\n+b"),
    ("a b.py", "added", "@@ -0,0 +1,2 @@\n+a\n+b\n"),
    ("gone.py", "deleted", "@@ -1 +0,0 @@\n-a"),
    ("new.py", "renamed", "@@ -1 +1 @@\n-a\n+b", "old.py"),
    ("copy.py", "copied", None, "orig.py"),
    ("moved.py", "renamed", "", "orig.py"),
])
def test_api_patch_round_trips_through_parse_diff(args):
    fc = file_change_from_patch(*args)
    (back,) = parse_diff(fc.patch)
    assert (back.path, back.status, back.old_path, back.hunks, back.patch) == (
        fc.path, fc.status, fc.old_path, fc.hunks, fc.patch)


def test_api_file_without_patch():
    binary = file_change_from_patch("logo.png", "modified", None, additions=0, deletions=0)
    assert (binary.patch, binary.hunks, binary.note) == (
        "diff --git a/logo.png b/logo.png\n", (), "patch omitted by the source")
    huge = file_change_from_patch("big.sql", "modified", "", additions=5000, deletions=20)
    assert (huge.additions, huge.deletions, huge.note) == (5000, 20, "patch omitted by the source")
    pure = file_change_from_patch("b.txt", "renamed", None, old_path="a.txt", additions=0, deletions=0)
    assert (pure.patch, pure.note) == ("diff --git a/a.txt b/b.txt\nrename from a.txt\nrename to b.txt\n", "")


def test_api_counts_come_from_the_hunks_when_there_is_a_patch():
    fc = file_change_from_patch("a.py", "modified", "@@ -1 +1,2 @@\n-a\n+b\n+c", additions=99, deletions=99)
    assert (fc.additions, fc.deletions) == (2, 1)


@pytest.mark.parametrize("args, reason", [
    (("a.py", "modified", "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a\n+b"), "does not start with an '@@'"),
    (("a.py", "modified", "@@ -1,5 +1 @@\n-a\n+b"), "in the patch of a.py"),
    (("a.py", "exploded", "@@ -1 +1 @@\n-a\n+b"), "unknown file status 'exploded'"),
])
def test_api_patch_errors(args, reason):
    with pytest.raises(InputError) as caught:
        file_change_from_patch(*args)
    assert reason in str(caught.value) and "\n" not in str(caught.value)
