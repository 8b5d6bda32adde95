"""A cassette recorded for a user holds no secret of the change: request and response bodies are
redacted, and the replay still matches (vcrpy redacts each replayed request the same way)."""
from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer

import hostile_corpus as hc
import pytest
from test_output_cassettes import _CountTokens

from reviewbot.cli import main


class _Echo(_CountTokens):
    """count_tokens that also echoes the request back, as a model quoting its prompt would."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        data = json.dumps({"input_tokens": len(body) // 4, "echo": body.decode()[-3000:]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def echo_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_recorded_cassette_is_redacted_and_still_replays(echo_api, tmp_path, capsys, monkeypatch):
    lines = [c.text for c in hc.CREDENTIALS if "\n" not in c.value]
    patch = tmp_path / "leak.patch"
    patch.write_text("diff --git a/app/settings.py b/app/settings.py\n--- a/app/settings.py\n+++ b/app/settings.py\n"
                     f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{x}\n" for x in lines))
    cassette = tmp_path / "leak.yaml"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", echo_api)
    args = ["review", "--diff", str(patch), "--dry-run", "--format", "json", "-q"]
    assert main([*args, "--record-cassette", str(cassette)]) == 0
    recorded = capsys.readouterr().out
    text = cassette.read_text()
    assert "echo" in text and "settings.py" in text            # the bodies are there, redacted
    assert hc.verbatim(text) == [] and hc.verbatim(recorded) == []
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    assert main([*args, "--replay-cassette", str(cassette)]) == 0
    assert capsys.readouterr().out == recorded
