"""The cached prefix: byte-identical across agents, breakpoints where the design puts them."""
import json

from helpers import change, file_change

from reviewbot.agents.requests import PRELOAD_ID, build_prewarm, build_request
from reviewbot.config import Config
from reviewbot.domain.specialists import NAMES
from reviewbot.pipeline.review import prepare, specialist_delta
from reviewbot.workspace.layout import CONTEXT_FILE, PRELOADED_FILE


def _breakpoints(req):
    found = []
    for i, t in enumerate(req["tools"]):
        if "cache_control" in t:
            found.append(("tool", i))
    for i, b in enumerate(req["system"]):
        if "cache_control" in b:
            found.append(("system", i))
    for m, msg in enumerate(req["messages"]):
        for j, b in enumerate(msg["content"]):
            if "cache_control" in b:
                found.append((m, j))
    return found


def _prefix_bytes(req):
    """Everything before the first agent-specific block: tools, system, first three messages minus the delta."""
    msgs = json.loads(json.dumps(req["messages"][:3]))
    return json.dumps({"model": req["model"], "tools": req["tools"], "system": req["system"], "messages": msgs})


def test_every_specialist_and_the_prewarm_share_one_prefix(tmp_path):
    ch = change(file_change("src/app.py"), file_change("docs/guide.md"), file_change("requirements.txt"))
    ws, prefix = prepare(ch, Config(), tmp_path / "ws")
    records = [build_request(prefix, specialist_delta(n, ws.plan, Config()), [], 1000)
                for n in [s.name for s in ws.plan.specialists]]
    requests = [r.body for r in records]
    assert len(requests) == 7
    prefixes = {_prefix_bytes(r) for r in requests} | {_prefix_bytes(build_prewarm(prefix).body)}
    assert len(prefixes) == 1
    deltas = {r["messages"][3]["content"][-1]["text"] for r in requests}
    assert len(deltas) == 7
    # the record says where the shared prefix ends: the scheduler never counts messages itself
    assert {r.shared for r in records} == {3} and build_prewarm(prefix).shared == 3
    assert [r.own() for r in records] == [r["messages"][3:] for r in requests] and build_prewarm(prefix).own() == []


def test_breakpoints_system_preloaded_reads_and_newest_block(tmp_path):
    ws, prefix = prepare(change(file_change("src/app.py"), file_change("src/b.py")), Config(), tmp_path / "ws")
    history = [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file",
                                                  "input": {"path": "diff/001-src__app.py.patch"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}]
    req = build_request(prefix, "delta", history, 1000).body
    # system, the last read call (the same in every PR's reviews), the last read, the newest block: 4 of 4
    assert _breakpoints(req) == [("system", 0), (1, 1), (2, 1), (5, 0)]
    assert "cache_control" not in history[1]["content"][0]          # the caller's history is not mutated
    first = build_request(prefix, "delta", [], 1000).body
    assert _breakpoints(first) == [("system", 0), (1, 1), (2, 1)]          # no write for a lone delta
    uses = req["messages"][1]["content"]
    # one read carries every pre-read patch: two blocks, not one per file
    assert [u["input"]["path"] for u in uses] == [CONTEXT_FILE, PRELOADED_FILE]
    assert [u["id"] for u in uses] == [PRELOAD_ID.format(i) for i in range(2)]
    results = req["messages"][2]["content"]
    assert results[0]["content"] == ws.context_text
    bundle = results[1]["content"]
    assert bundle == (ws.root / PRELOADED_FILE).read_text()                    # the read is a real file
    assert bundle.index("===== diff/001-src__app.py.patch (src/app.py) =====") < bundle.index("+++ b/src/b.py")
    assert "tool_choice" not in req and "thinking" not in req
    assert _breakpoints(build_prewarm(prefix).body) == [("system", 0), (1, 1), (2, 1)]


def test_breakpoint_1b_is_on_the_last_read_call_every_review_makes():
    from reviewbot.agents.requests import Prefix
    from reviewbot.repo.related import RELATED_FILE

    def marked(*paths):
        uses = Prefix("claude-sonnet-5-5", "s", "o", tuple((p, "text") for p in paths)).messages()[1]["content"]
        return [u["input"]["path"] for u in uses if "cache_control" in u]
    # the related-code call (only a change with related code makes it) comes after 1b, so the prefix up
    # to 1b is the same whether the next PR has related code or not
    assert marked(CONTEXT_FILE, PRELOADED_FILE, RELATED_FILE) == [PRELOADED_FILE]
    assert marked(CONTEXT_FILE, PRELOADED_FILE) == [PRELOADED_FILE]
    assert marked(CONTEXT_FILE, RELATED_FILE) == [CONTEXT_FILE]            # nothing pre-read: the context call
    assert marked(CONTEXT_FILE) == [CONTEXT_FILE]
    with_related = Prefix("claude-sonnet-5-5", "s", "o", ((CONTEXT_FILE, "c"), (PRELOADED_FILE, "p"),
                                                          (RELATED_FILE, "r"))).messages()
    without = Prefix("claude-sonnet-5-5", "s", "o", ((CONTEXT_FILE, "c"), (PRELOADED_FILE, "p"))).messages()
    assert with_related[:1] == without[:1] and with_related[1]["content"][:2] == without[1]["content"]


def test_preload_budget_leaves_the_rest_to_read_file(tmp_path):
    ch = change(file_change("src/app.py"), file_change("src/b.py"), file_change("src/c.py"))
    size = len(ch.files[0].patch) + 1
    ws, prefix = prepare(ch, Config(preload_chars=2 * size), tmp_path / "ws")
    assert [pf.preloaded for pf in ws.plan.files] == [True, True, False]
    assert [path for path, _ in prefix.reads] == [CONTEXT_FILE, PRELOADED_FILE]
    assert "src__c.py" not in prefix.reads[1][1] and "src__b.py" in prefix.reads[1][1]
    assert "diff/003-src__c.py.patch | " in ws.context_text and "(preloaded)" in ws.context_text
    delta = specialist_delta("correctness", ws.plan, Config())
    assert "src/c.py: read diff/003-src__c.py.patch" in delta and "src/app.py: its patch is preloaded" in delta


def test_one_hour_ttl_only_on_the_stable_part(tmp_path):
    _, prefix = prepare(change(), Config(base_ttl="1h"), tmp_path / "ws")
    req = build_request(prefix, "d", [], 100).body
    assert req["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert req["messages"][1]["content"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert req["messages"][2]["content"][-1]["cache_control"] == {"type": "ephemeral"}


def test_specialist_focus_is_never_in_the_shared_prefix(tmp_path):
    ws, prefix = prepare(change(), Config(), tmp_path / "ws")
    shared = prefix.system_text + prefix.opening + "".join(text for _, text in prefix.reads)
    for name in NAMES:
        delta = specialist_delta(name, ws.plan, Config())
        focus_line = delta.splitlines()[0]
        assert focus_line not in shared


def test_same_change_same_prefix_hash(tmp_path):
    _, p1 = prepare(change(), Config(), tmp_path / "a")
    _, p2 = prepare(change(), Config(), tmp_path / "b")
    assert p1.sha256() == p2.sha256()
    _, p3 = prepare(change(title="Other"), Config(), tmp_path / "c")
    assert p3.sha256() != p1.sha256()


def test_naive_mode_inlines_everything_and_sets_no_breakpoint(tmp_path):
    ws, prefix = prepare(change(), Config(mode="naive"), tmp_path / "ws")
    history = [{"role": "assistant", "content": [{"type": "text", "text": "hm"}]},
               {"role": "user", "content": [{"type": "text", "text": "go on"}]}]
    for record in (build_request(prefix, "delta", [], 100), build_request(prefix, "delta", history, 100)):
        assert record.shared == 0 and record.own() == record.body["messages"]     # nothing is cached
        req = record.body
        assert "cache_control" not in json.dumps(req)
        first = req["messages"][0]["content"]
        assert ws.context_text in first[0]["text"] and "+++ b/src/app.py" in first[0]["text"]
        assert req["messages"][1]["content"] == [{"type": "text", "text": "delta"}]


def test_the_prefix_up_to_the_read_calls_is_the_same_across_prs(tmp_path):
    """Breakpoint 1b: the opening and the read calls name no file of the change, so a review of another
    PR reads them from the cache instead of writing them again."""
    _, p1 = prepare(change(file_change("src/app.py")), Config(), tmp_path / "a")
    _, p2 = prepare(change(file_change("lib/other.js"), title="Other"), Config(), tmp_path / "b")
    a, b = (build_request(p, "d", [], 100).body for p in (p1, p2))
    assert a["messages"][:2] == b["messages"][:2] and a["messages"][2] != b["messages"][2]
    assert "cache_control" in a["messages"][1]["content"][-1]
