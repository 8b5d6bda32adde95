"""The repository around a change: trees from git objects, the read_file sandbox over them,
search_code, symbol extraction for the corpus's four languages, and the related-code section."""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from reviewbot.agents.tools import MAX_MATCHES, SEARCH_NAME, TOOLS, ToolBox
from reviewbot.change.gitsource import read_local_change
from reviewbot.errors import ToolInputError
from reviewbot.github.archive import fast_import_stream, import_archive
from reviewbot.repo.local import local_repository
from reviewbot.repo.related import RELATED_FILE, budget_for, build_related, estimate_tokens
from reviewbot.repo.symbols import extract
from reviewbot.repo.tree import GitTree, RepoError, Repository
from reviewbot.workspace.files import MAX_REPO_READ_CHARS, read_path

BASE_FILES = {
    "src/pricing.py": "def total(items):\n    return sum(i.price for i in items)\n\n\ndef legacy_total(items):\n"
                      "    return total(items)\n",
    "src/cart.py": "from .pricing import total, legacy_total\n\n\nclass Cart:\n    def checkout(self, items):\n"
                   "        return legacy_total(items)\n",
    "src/report.py": "from .pricing import legacy_total\n\n\ndef report(items):\n    return legacy_total(items)\n",
    "src/long.py": "def compute(x):\n" + "".join(f"    x = x + {n}\n" for n in range(10)) + "    return x\n",
    "src/helpers.py": "def round_cents(x):\n    return round(x, 2)\n",
    "tests/test_pricing.py": "from src.pricing import total\n\n\ndef test_total():\n    assert total([]) == 0\n",
    "web/app.js": "function handle(req) {\n  return route(req);\n}\nfunction route(req) {\n  return req.path;\n}\n",
    "README.md": "# shop\n",
    "old.txt": "only in base\n",
}
HEAD_FILES = {
    **BASE_FILES,
    "src/pricing.py": "def total(items, tax=0):\n    subtotal = sum(i.price for i in items)\n"
                      "    return round_cents(subtotal * (1 + tax))\n",
    "src/cart.py": BASE_FILES["src/cart.py"].replace("return legacy_total(items)", "return total(items)"),
    "src/long.py": BASE_FILES["src/long.py"].replace("x = x + 5", "x = x + 50"),
    "big.txt": "".join(f"line {n} " + "x" * 60 + "\n" for n in range(1, 2001)),
    "logo.bin": "\x00\x01\x02binary",
}
del HEAD_FILES["old.txt"]


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode())


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A repository: `base`, then `pr` with the change (HEAD_FILES), a symlink inside and one out."""
    root = tmp_path_factory.mktemp("shop")
    _git(root, "init", "-q", "-b", "base")
    _write(root, BASE_FILES)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "checkout", "-qb", "pr")
    (root / "old.txt").unlink()
    _write(root, HEAD_FILES)
    os.symlink("src/pricing.py", root / "link-in.py")
    os.symlink("../../etc/passwd", root / "link-out")
    os.symlink("/etc/passwd", root / "link-abs")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "tax")
    return root


@pytest.fixture(scope="module")
def repo(shop) -> Repository:
    ch = read_local_change(shop, "base", "pr")
    return local_repository(shop, ch.meta.head_sha, ch.meta.base_sha)


@pytest.fixture()
def ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    (root / "diff").mkdir(parents=True)
    (root / "shared-mr-context.txt").write_text("context\n")
    (root / "diff" / "001-src__pricing.py.patch").write_text("patch\n")
    os.symlink("/etc/passwd", root / "escape")
    return root


# ------------------------------------------------------------------------------- trees


def test_reads_head_and_base_from_git_objects_not_the_working_tree(shop, repo):
    (shop / "src" / "pricing.py").write_text("uncommitted edit\n")          # never what reviewers see
    try:
        assert repo.head.read("src/pricing.py").decode() == HEAD_FILES["src/pricing.py"]
        assert repo.base.read("src/pricing.py").decode() == BASE_FILES["src/pricing.py"]
        assert repo.base.read("old.txt") == b"only in base\n" and repo.head.read("old.txt") is None
        assert repo.head.read("link-in.py") == repo.head.read("src/pricing.py")     # a link inside is followed
        fresh = GitTree(repo.head.git_dir, repo.head.commit)
        fresh.prefetch(["src/cart.py", "logo.bin", "src", "nothing.py"])          # one cat-file --batch
        assert fresh.read("src/cart.py").decode() == HEAD_FILES["src/cart.py"]
        assert fresh.read("logo.bin") == HEAD_FILES["logo.bin"].encode()
        assert repo.head.listing("") == ["README.md", "big.txt", "link-abs", "link-in.py", "link-out", "logo.bin",
                                         "src/", "tests/", "web/"]
    finally:
        _git(shop, "checkout", "-q", "--", "src/pricing.py")


def test_blobs_stream_in_order_and_the_blob_cache_is_bounded(repo):
    tree = GitTree(repo.head.git_dir, repo.head.commit, cache_bytes=len(HEAD_FILES["src/cart.py"]) + 10)
    got = list(tree.blobs(["big.txt", "nothing.py", "link-in.py", "link-out", "src", "src/cart.py", "big.txt"]))
    assert [p for p, _ in got] == ["big.txt", "nothing.py", "link-in.py", "link-out", "src", "src/cart.py", "big.txt"]
    assert [d if d is None else d.decode() for _, d in got] == [
        HEAD_FILES["big.txt"], None, HEAD_FILES["src/pricing.py"], None, None, HEAD_FILES["src/cart.py"],
        HEAD_FILES["big.txt"]]
    streamed = {tree.entries()[p].sha for p in ("big.txt", "src/cart.py")}
    assert not streamed & set(tree._blobs)                  # streamed blobs are not kept (the links were read)
    tree.prefetch(["big.txt", "src/cart.py", "src/pricing.py"])              # big.txt is over the bound
    assert tree._cached <= tree.cache_bytes and tree.entries()["big.txt"].sha not in tree._blobs
    assert tree.read("big.txt").decode() == HEAD_FILES["big.txt"]              # still read, one at a time


@pytest.mark.parametrize("link", ["link-out", "link-abs"])
def test_a_symlink_out_of_the_repository_is_refused(repo, link):
    with pytest.raises(RepoError, match="leads outside the repository"):
        repo.head.read(link)


def test_grep_literal_regex_glob_word_at_head_and_base(repo):
    hits, more = repo.head.grep("total(")
    assert [(m.path, m.line) for m in hits] == [("src/cart.py", 6), ("src/pricing.py", 1), ("src/report.py", 5),
                                                ("tests/test_pricing.py", 4), ("tests/test_pricing.py", 5)] and not more
    assert [m.path for m in repo.base.grep("legacy_total(", glob="src/*")[0]] == ["src/cart.py", "src/pricing.py",
                                                                                  "src/report.py"]
    assert [m.path for m in repo.head.grep("legacy_total(")[0]] == ["src/report.py"]
    regex = repo.head.grep(r"def [a-z_]+\(items", regex=True)[0]
    assert [(m.path, m.line) for m in regex] == [("src/pricing.py", 1), ("src/report.py", 4)]
    assert all(m.text.startswith("def ") for m in regex)
    assert [m.path for m in repo.head.grep("total", word=True, glob="tests/*")[0]] == ["tests/test_pricing.py"] * 2
    assert repo.head.grep("no such text anywhere") == ([], False)
    assert len(repo.head.grep("line", glob="big.txt", limit=5)[0]) == 5 and repo.head.grep("line", limit=5)[1]
    assert repo.head.grep("binary")[0] == []                  # binary files are not searched


# ------------------------------------------------------------------------------- sandbox


@pytest.mark.parametrize("path, message", [
    ("../etc/passwd", "'..' is not allowed"),
    ("src/../../x", "'..' is not allowed"),
    ("base/../../x", "'..' is not allowed"),
    ("/etc/passwd", "absolute paths are not allowed"),
    ("head//etc/passwd", None),
    ("C:/Windows", "absolute paths"),
    ("~/x", "absolute paths"),
    ("src/pricing.py\x00.txt", "NUL byte"),
    ("%2e%2e/etc/passwd", "URL-encoded"),
    ("..%2Fetc%2Fpasswd", "URL-encoded"),
    ("escape", "no such file"),                        # the workspace's symlink out: not followed, not in the repo
    ("link-out", "leads outside the repository"),
    ("head/link-abs", "leads outside the repository"),
    ("logo.bin", "binary file"),
    ("", "non-empty"),
    ("src/nothing.py", "no such file"),
    ("base/big.txt", "no such file"),
])
def test_every_refusal_of_read_file(ws, repo, path, message):
    if message is None:                                # "head//etc/passwd" normalises to head/etc/passwd
        with pytest.raises(ToolInputError, match="no such file"):
            read_path(ws, repo, path)
        return
    with pytest.raises(ToolInputError, match=message):
        read_path(ws, repo, path)


def test_read_file_reaches_workspace_head_and_base(ws, repo):
    assert read_path(ws, repo, "shared-mr-context.txt") == "context\n"
    assert read_path(ws, repo, "src/pricing.py") == HEAD_FILES["src/pricing.py"]
    assert read_path(ws, repo, "head/src/pricing.py") == HEAD_FILES["src/pricing.py"]
    assert read_path(ws, repo, "base/src/pricing.py") == BASE_FILES["src/pricing.py"]
    assert read_path(ws, repo, "base/old.txt") == "only in base\n"
    assert read_path(ws, repo, "src").splitlines() == ["[directory src at head: 5 entries]", "cart.py",
                                                        "helpers.py", "long.py", "pricing.py", "report.py"]
    assert "web/" in read_path(ws, repo, "base")
    assert read_path(ws, repo, "src/pricing.py", start_line=3) == "[from line 3 of 3]\n" + \
        HEAD_FILES["src/pricing.py"].splitlines(keepends=True)[2]
    with pytest.raises(ToolInputError, match="past the end"):
        read_path(ws, repo, "src/pricing.py", start_line=9)


def test_read_file_caps_one_read_and_continues_with_start_line(ws, repo):
    text = read_path(ws, repo, "big.txt")
    assert len(text) < MAX_REPO_READ_CHARS + 200 and text.rstrip().endswith("read further with start_line")
    last = int(text.splitlines()[-2].split()[1])
    assert read_path(ws, repo, "big.txt", start_line=last + 1).splitlines()[1].startswith(f"line {last + 1} ")


def test_without_a_repository_only_the_workspace_is_readable(ws):
    assert read_path(ws, None, "diff/001-src__pricing.py.patch") == "patch\n"
    with pytest.raises(ToolInputError, match="no such file in the workspace"):
        read_path(ws, None, "src/pricing.py")
    with pytest.raises(ToolInputError, match="no repository"):
        read_path(ws, None, "base/src/pricing.py")
    with pytest.raises(ToolInputError, match="no repository"):
        ToolBox(ws, None).search_code({"pattern": "total"})


# ------------------------------------------------------------------------------- tools


def test_search_code_shows_line_numbers_and_context(ws, repo):
    box = ToolBox(ws, repo)
    out = box.search_code({"pattern": "round_cents", "word": True})
    assert out.splitlines() == [
        "2 match(es) for 'round_cents' at head", "", "src/helpers.py", "  1: def round_cents(x):",
        "  2-     return round(x, 2)", "", "src/pricing.py", "  2-     subtotal = sum(i.price for i in items)",
        "  3:     return round_cents(subtotal * (1 + tax))"]
    assert "legacy_total" in box.search_code({"pattern": "legacy_total(", "at": "base", "glob": "src/cart.py"})
    assert box.search_code({"pattern": "zzz_nothing"}) == "no match for 'zzz_nothing' at head\n"
    many = box.search_code({"pattern": "line", "glob": "big.txt"})
    assert many.startswith(f"{MAX_MATCHES}+ match(es)") and "narrow" in many
    assert box.counts[SEARCH_NAME] == 4


@pytest.mark.parametrize("args, message", [
    ({}, "pattern"), ({"pattern": ""}, "pattern"), ({"pattern": "x" * 201}, "pattern"),
    ({"pattern": "a\x00b"}, "pattern"), ({"pattern": "x", "at": "elsewhere"}, "'at'"),
    ({"pattern": "(", "regex": True}, "git grep failed"),
])
def test_search_code_refusals(ws, repo, args, message):
    with pytest.raises(ToolInputError, match=message):
        ToolBox(ws, repo).search_code(args)


def test_each_agent_has_a_reading_budget(ws, repo):
    box = ToolBox(ws, repo, max_chars=50_000)
    box.read_file({"path": "big.txt"})
    with pytest.raises(ToolInputError, match="reading budget"):
        box.read_file({"path": "big.txt"})
    with pytest.raises(ToolInputError, match="start_line"):
        box.read_file({"path": "big.txt", "start_line": 0})


def test_tool_list_has_search_code_without_a_path_property():
    names = [t["name"] for t in TOOLS]
    assert names == ["read_file", "search_code", "submit_findings", "answer_thread"]
    search = TOOLS[1]["input_schema"]
    assert search["required"] == ["pattern"] and "path" not in search["properties"]


# ------------------------------------------------------------------------------- symbols


def test_symbols_python():
    fs = extract("a.py", b"class Cart:\n    def checkout(self, items):\n        return total(items)\n\n"
                         b"def total(items):\n    return Tax()\n")
    assert [(s.name, s.kind, s.start, s.end, s.parent) for s in fs.definitions] == [
        ("Cart", "class", 1, 3, ""), ("checkout", "method", 2, 3, "Cart"), ("total", "function", 5, 6, "")]
    assert [(r.name, r.line) for r in fs.references] == [("total", 3), ("Tax", 6)]
    assert fs.enclosing(3).name == "checkout" and fs.enclosing(4) is None


def test_symbols_javascript():
    fs = extract("a.js", b"function handle(req) {\n  return route(req);\n}\nconst view = (x) => x;\n"
                         b"class Router { match(p) { return new Layer(p); } }\nmodule.exports.use = function () {};\n")
    assert [(s.name, s.kind) for s in fs.definitions] == [("handle", "function"), ("view", "function"),
                                                          ("Router", "class"), ("match", "method"), ("use", "function")]
    assert {(r.name, r.kind) for r in fs.references} == {("route", "call"), ("Layer", "class")}


def test_symbols_typescript_and_tsx():
    fs = extract("a.ts", b"interface Opts { debug(): void }\nexport function run(o: Opts): number {\n"
                         b"  return start(o);\n}\nclass App { stop() { return 1; } }\n")
    assert [(s.name, s.kind) for s in fs.definitions] == [("Opts", "interface"), ("debug", "method"),
                                                          ("run", "function"), ("App", "class"), ("stop", "method")]
    assert {(r.name, r.kind) for r in fs.references} == {("Opts", "type"), ("start", "call")}
    assert [s.name for s in extract("a.tsx", b"function View() { return <div>{draw()}</div>; }\n").definitions] == \
        ["View"]


def test_symbols_rust():
    fs = extract("a.rs", b"struct Searcher;\nimpl Searcher {\n    fn new() -> Searcher { build(); Searcher }\n}\n"
                         b"fn build() { println!(\"x\"); }\ntrait Sink { fn sink(&self); }\n")
    assert [(s.name, s.kind) for s in fs.definitions] == [("Searcher", "class"), ("new", "method"),
                                                          ("build", "function"), ("Sink", "interface")]
    assert {(r.name, r.kind) for r in fs.references} == {("Searcher", "implementation"), ("build", "call"),
                                                         ("println", "call")}


def test_unknown_language_has_no_symbols():
    assert extract("a.go", b"func main() {}\n").definitions == ()


# ------------------------------------------------------------------------------- related code


def test_related_code_finds_definitions_callers_new_names_tests(shop, repo):
    change = read_local_change(shop, "base", "pr")
    rel = build_related(change, repo, 6000)
    text = rel.text
    assert text.startswith("## Related code\n")
    sections = [line for line in text.splitlines() if line.startswith("### ")]
    assert sections == ["### Still used: callers of definitions the change removes or renames",
                        "### Definitions the change touches, whole, at head (those the patch shows in full are left out)",
                        "### Callers of the touched definitions, elsewhere in the repository",
                        "### Definitions of names the added lines start to use",
                        "### Tests that refer to the changed code"]
    assert "#### src/report.py:3-5 uses `legacy_total` in `report`\n" in text              # removed, still used
    assert "#### src/cart.py:4-6 uses `total` in `checkout` (changed file)" in text
    assert "#### src/long.py:1-12 `compute` (function)" in text           # touched, longer than its hunk
    assert "`total` (function)" not in text.split("### Callers")[0]      # the patch shows all of it
    assert "#### src/helpers.py:1-2 `round_cents` (function)" in text                        # newly used name
    assert "#### tests/test_pricing.py:4-5 `test_total` (function, refers to `total`)" in text
    assert '<untrusted-data source="repository">' in text
    assert rel.tokens == estimate_tokens(text) <= rel.budget and rel.omitted == 0


def test_related_code_is_deterministic_and_cut_to_the_budget(shop, repo):
    change = read_local_change(shop, "base", "pr")
    full = build_related(change, repo, 6000)
    assert build_related(change, local_repository(shop, change.meta.head_sha, change.meta.base_sha), 6000) == full
    small = build_related(change, repo, 260)
    assert 0 < small.shown < full.shown and small.tokens <= 260
    assert f"{small.omitted} more related snippet(s) left out to stay within 260 tokens" in small.text
    assert build_related(change, repo, 0).text == "" and build_related(change, None, 6000).text == ""
    assert build_related(change, repo, 20).text == ""          # nothing fits: no section at all


def test_budget_scales_with_the_change_up_to_the_ceiling(shop):
    change = read_local_change(shop, "base", "pr")
    lines = change.additions + change.deletions
    assert budget_for(change, 100_000) == 600 + 25 * lines
    assert budget_for(change, 700) == 700 and budget_for(change, 0) == 0


def test_the_section_is_the_last_read_of_the_shared_prefix(shop, repo, tmp_path):
    from reviewbot.config import Config
    from reviewbot.pipeline.review import prepare
    change = read_local_change(shop, "base", "pr")
    ws, prefix = prepare(change, Config(), tmp_path / "ws", repo=repo)
    assert prefix.reads[-1][0] == RELATED_FILE and prefix.reads[-1][1] == ws.related.text
    assert (tmp_path / "ws" / RELATED_FILE).read_text() == ws.related.text
    assert "related-code.txt, read for you after the patches" in prefix.reads[0][1]
    _, again = prepare(change, Config(), tmp_path / "ws2", repo=repo)
    assert again.sha256() == prefix.sha256()                  # byte-identical: one cache write
    _, off = prepare(change, Config(related_code_tokens=0), tmp_path / "ws3", repo=repo)
    assert RELATED_FILE not in [p for p, _ in off.reads]


# ------------------------------------------------------------------------------- GitHub archive


def _tarball(files: dict[str, tuple[str, bytes | str]], top: str = "acme-widgets-1234567") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, (kind, data) in files.items():
            info = tarfile.TarInfo(f"{top}/{path}")
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
                tar.addfile(info)
            else:
                raw = data if isinstance(data, bytes) else data.encode()
                info.size, info.mode = len(raw), 0o755 if kind == "exec" else 0o644
                tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def test_a_tarball_becomes_git_objects_with_modes_and_links(tmp_path):
    archive = _tarball({"src/a.py": ("file", "def a():\n    return b()\n"), "run.sh": ("exec", "#!/bin/sh\n"),
                        'odd "name"\n.txt': ("file", "odd\n"), "in.py": ("link", "src/a.py"),
                        "out": ("link", "../../etc/passwd")})
    assert fast_import_stream(archive, "refs/heads/head") == fast_import_stream(archive, "refs/heads/head")
    sha = import_archive(archive, tmp_path / "o.git", "refs/heads/head")
    tree = GitTree(tmp_path / "o.git", sha)
    modes = {p: e.mode for p, e in tree.entries().items()}
    assert modes == {"src/a.py": "100644", "run.sh": "100755", 'odd "name"\n.txt': "100644", "in.py": "120000",
                     "out": "120000"}
    assert tree.read("in.py") == b"def a():\n    return b()\n" and tree.read('odd "name"\n.txt') == b"odd\n"
    with pytest.raises(RepoError, match="outside"):
        tree.read("out")
    assert [(m.path, m.line) for m in tree.grep("b()")[0]] == [("src/a.py", 2)]
    assert import_archive(archive, tmp_path / "o.git", "refs/heads/again") == sha      # same archive, same commit


# ------------------------------------------------------------------------------- the agent loop


def test_agents_read_and_search_in_their_own_turns_not_in_the_shared_prefix(shop, repo, tmp_path, scripted):
    import asyncio

    from helpers import submit

    from reviewbot.config import Config
    from reviewbot.pipeline.review import run_review

    seen = {}

    def correctness(turn, request):
        if turn == 1:
            seen["prefix"] = request["messages"][:2]
            return [{"type": "tool_use", "id": "s1", "name": "search_code", "input": {"pattern": "round_cents"}},
                    {"type": "tool_use", "id": "s2", "name": "search_code", "input": {"pattern": "(", "regex": True}},
                    {"type": "tool_use", "id": "r1", "name": "read_file", "input": {"path": "base/src/pricing.py"}}]
        results = request["messages"][-1]["content"]
        assert "src/helpers.py" in results[0]["content"] and "is_error" not in results[0]
        assert results[1]["is_error"] is True and "git grep failed" in results[1]["content"]
        assert "legacy_total" in results[2]["content"]
        assert request["messages"][:2] == seen["prefix"]             # the shared prefix did not move
        assert all(b.get("type") != "tool_result" or b["tool_use_id"].startswith("toolu_reviewbot_preload")
                   for b in request["messages"][2]["content"])
        return submit()

    change = read_local_change(shop, "base", "pr")
    t = scripted({"correctness": correctness, "*": submit()})
    result = asyncio.run(run_review(change, Config(max_retries=0, routing="all"), t, tmp_path / "ws", repo=repo))
    calls = {(agent, tool): n for agent, tool, n in result.tool_calls}
    assert calls[("correctness", "search_code")] == 2 and calls[("correctness", "read_file")] == 1
    assert calls[("security", "search_code")] == 0
    assert result.related is not None and result.related.text


def test_a_repository_git_cannot_read_gives_no_section_and_a_note(shop, tmp_path):
    change = read_local_change(shop, "base", "pr")
    broken = Repository(GitTree(tmp_path / "not-a-repo", change.meta.head_sha))
    rel = build_related(change, broken, 6000)
    assert rel.text == "" and rel.note.startswith("related code left out: git ls-tree failed")


# ------------------------------------------------------------------------------- configuration


def test_config_keys_for_the_repository_context():
    from reviewbot.commands.bench import options
    from reviewbot.config import config_from_mapping
    from reviewbot.errors import ConfigError
    assert config_from_mapping({"related_code_tokens": 0, "repository": False}).related_code_tokens == 0
    with pytest.raises(ConfigError, match="'related_code_tokens' must be a non-negative integer"):
        config_from_mapping({"related_code_tokens": -1})
    with pytest.raises(ConfigError, match="'repository' must be true or false"):
        config_from_mapping({"repository": "yes"})

    class Args:
        entries, corpus, cachesim, api_url, time_scale, reset_between, no_naive, verbose, quiet = \
            (), Path("corpus"), Path("server.py"), None, None, False, False, False, False
        model = warmup = routing = base_ttl = repo = None
        batch, no_batch, batch_ttl = False, False, "1h"
        naive, uniform, no_uniform = False, False, False
        out = Path("bench-out")
        related_code_tokens, no_repository, no_effort_policy = 500, True, False
    opts = options(Args())
    assert opts.config.related_code_tokens == 500 and opts.config.repository is False
    Args.related_code_tokens = -5
    with pytest.raises(ConfigError, match="--related-code-tokens"):
        options(Args())
