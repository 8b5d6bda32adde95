"""`--record-cassette` / `--replay-cassette`: a team records its own reviews (keys filtered out) and
replays them offline; any request that differs from the recording fails with exit 4."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cassette import CASSETTES
from corpus import clone

from reviewbot.cli import main
from reviewbot.llm.cassettes import MISSING_VCR, SECRET_HEADERS

SECRET = "sk-" + "ant-api03-THIS-KEY-MUST-NEVER-BE-RECORDED"     # built at run time: no key-shaped literal in the repo


class _CountTokens(BaseHTTPRequestHandler):
    """A stand-in for the API's count_tokens endpoint (the record test needs something to record);
    the first `overloaded` requests get a 529, which the SDK retries."""

    overloaded = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != "/v1/messages/count_tokens":
            self.send_error(404)
            return
        if type(self).overloaded > 0:
            type(self).overloaded -= 1
            data = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
            self.send_response(529)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("retry-after-ms", "10")
            self.end_headers()
            self.wfile.write(data)
            return
        data = json.dumps({"input_tokens": len(body) // 4}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_0123456789")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountTokens)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    path, _ = clone("unidiff-126", tmp_path)
    return path


def _run(capsys, repo, *extra):
    code = main(["review", "--repo", str(repo), "--base", "base", "--head", "pr", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_record_filters_the_key_then_replay_offline(repo, api, tmp_path, capsys, monkeypatch):
    file = tmp_path / "cassettes" / "dry.yaml"
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api)
    for _ in range(2):                                   # re-recording overwrites, never appends
        code, recorded, _ = _run(capsys, repo, "--dry-run", "--format", "json", "--record-cassette", str(file))
        assert code == 0
    text = file.read_text()
    assert SECRET not in text and "req_0123456789" not in text
    assert not any(f"{h}:" in text.lower() for h in ("x-api-key", "authorization", "request-id"))
    uris = [line.split("uri: ", 1)[1] for line in text.splitlines() if line.strip().startswith("uri: ")]
    assert len(uris) == len(json.loads(recorded)["calls"]) + 1 and all(u.endswith("/count_tokens") for u in uris)
    # Offline: no key, no endpoint; the cassette answers.
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    code, replayed, err = _run(capsys, repo, "--dry-run", "--format", "json", "--replay-cassette", str(file))
    assert code == 0 and replayed == recorded


def test_retried_errors_are_not_recorded_so_replay_needs_no_retry(repo, api, tmp_path, capsys, monkeypatch):
    file = tmp_path / "dry.yaml"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api)
    monkeypatch.setattr(_CountTokens, "overloaded", 2)
    code, recorded, _ = _run(capsys, repo, "--dry-run", "--format", "json", "--record-cassette", str(file))
    assert code == 0 and _CountTokens.overloaded == 0                # two 529s were retried by the SDK
    text = file.read_text()
    assert "529" not in text and text.count("code: 200") == len(json.loads(recorded)["calls"]) + 1
    code, replayed, _ = _run(capsys, repo, "--dry-run", "--format", "json", "--replay-cassette", str(file))
    assert code == 0 and replayed == recorded


def test_replay_a_full_review_without_a_key(repo, tmp_path, capsys):
    (tmp_path / "all.toml").write_text('routing = "all"\n')
    code, out, err = _run(capsys, repo, "--config", str(tmp_path / "all.toml"), "--format", "json",
                          "--replay-cassette", str(CASSETTES / "test_e2e_review_unidiff-126.yaml"))
    assert code == 0
    review = json.loads(out)
    assert review["complete"] and review["findings"] and len(review["usage"]["calls"]) == 8


def test_a_request_not_in_the_cassette_is_exit_4(repo, capsys):
    """Another model changes every request body: nothing matches, and the message says why."""
    file = CASSETTES / "test_e2e_review_unidiff-126.yaml"
    code, out, err = _run(capsys, repo, "--model", "claude-opus-4-6", "-q", "--replay-cassette", str(file))
    assert code == 4 and out == ""
    assert err == (f"reviewbot: error: a request is not in the cassette {file}: the prompts, config, model or "
                   "change differ from the recording (re-record it with --record-cassette)\n")


def test_missing_cassette_is_a_usage_error(repo, tmp_path, capsys):
    code, out, err = _run(capsys, repo, "--replay-cassette", str(tmp_path / "nope.yaml"))
    assert code == 2 and err == f"reviewbot: error: cassette not found: {tmp_path / 'nope.yaml'}\n"


def test_without_vcrpy_one_line_error(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setitem(sys.modules, "vcr", None)            # import vcr -> ImportError
    code, out, err = _run(capsys, repo, "--record-cassette", str(tmp_path / "x.yaml"))
    assert code == 2 and err == f"reviewbot: error: {MISSING_VCR}\n"


def test_record_and_replay_are_exclusive(capsys):
    with pytest.raises(SystemExit) as e:
        main(["review", "--record-cassette", "a.yaml", "--replay-cassette", "b.yaml"])
    assert e.value.code == 2


def test_secret_headers_cover_keys_and_ids():
    assert {"x-api-key", "authorization", "cookie", "set-cookie", "request-id"} <= set(SECRET_HEADERS)


def test_a_local_review_loads_no_github_client(repo, tmp_path):
    """A whole local review (replayed, in a fresh interpreter) never imports PyGithub: its 40 MB are
    no part of a local review's memory (README "At scale")."""
    import subprocess
    (tmp_path / "all.toml").write_text('routing = "all"\n')
    code = f"""
import sys
from reviewbot.cli import main
rc = main(["review", "--repo", {str(repo)!r}, "--base", "base", "--head", "pr", "-q", "--format", "json",
           "--config", {str(tmp_path / "all.toml")!r},
           "--replay-cassette", {str(CASSETTES / "test_e2e_review_unidiff-126.yaml")!r}])
print(rc, "github" in sys.modules, "reviewbot.github.api" in sys.modules, "anthropic" in sys.modules,
      file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stderr.strip().splitlines()[-1] == "0 False False True", out.stderr
