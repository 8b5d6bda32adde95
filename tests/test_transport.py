"""The model API behind one protocol: the SDK loads only when a run opens a transport, and a command
gets its transport from the Connect it is passed."""
import json
import subprocess
import sys

from helpers import model_finding, one_hunk_patch, submit

from reviewbot.cli import main
from reviewbot.config import Config
from reviewbot.llm.transport import Connection


def test_the_cli_and_the_pipeline_start_without_the_sdk():
    code = ("import sys\n"
            "from reviewbot.cli import parser\n"
            "parser()\n"                                   # every command registered (reviewbot --help)
            "import reviewbot.pipeline.review, reviewbot.agents.loop, reviewbot.eval.run\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('anthropic', 'httpx2'))\n"
            "assert not loaded, loaded\n"
            "import reviewbot.llm.anthropic_transport\n"
            "assert 'anthropic' in sys.modules\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_a_command_opens_the_transport_it_is_passed_with_the_runs_settings(tmp_path, monkeypatch, capsys, scripted):
    patch = one_hunk_patch(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")      # nothing listens: the SDK is never used
    t = scripted({"*": submit(model_finding(path="app.py", line=2))})
    code = main(["review", "--repo", str(tmp_path), "--diff", str(patch), "--format", "json"], connect=t.connect)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert t.connection == Connection("sk-ant-test", Config().max_retries, Config().timeout_seconds,
                                      stall_seconds=Config().stall_seconds, target=t.connection.target)
    assert t.connection.target.platform.name == "anthropic"
    assert {who for who, _, _ in t.requests} >= {"security", "summary"}
    assert json.loads(out.out)["findings"]
