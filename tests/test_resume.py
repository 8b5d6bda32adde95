"""--keep-workspace saves every finished agent; a resumed run re-pays nothing that finished."""
import asyncio
import json

import pytest
from helpers import change, file_change, model_finding, submit

from reviewbot.config import Config
from reviewbot.errors import APIError, InputError
from reviewbot.pipeline.review import run_review


def _run(t, ws, **kw):
    return asyncio.run(run_review(change(file_change("src/app.py")), Config(routing="all"), t, ws, **kw)), t


def test_resume_reruns_only_what_did_not_finish(tmp_path, scripted):
    ws = tmp_path / "ws"
    first, t1 = _run(scripted({"performance": APIError("Anthropic API error 529: Overloaded"),
                               "summary": APIError("Anthropic API error 500: boom"), "*": submit(model_finding())}),
                     ws, keep_state=True)
    assert not first.complete
    saved = sorted(p.stem for p in (ws / "state").glob("*.json"))
    assert "performance" in saved and "run" in saved            # failures are saved too, and not reused
    assert json.loads((ws / "state" / "security.json").read_text())["submission"]["findings"]

    second, t2 = _run(scripted({"*": submit(model_finding())}), ws, keep_state=True, resume=True)
    called = [who for who, _, _ in t2.requests]
    assert called == ["performance", "summary"]                  # six specialists were not re-paid
    assert second.complete and len(second.calls) == 2
    assert {a.name: a.status for a in second.agents}["security"] == "ok"
    assert any("resumed: 6 finished agent(s)" in n for n in second.notes)


def test_resume_of_a_different_change_is_refused(tmp_path, scripted):
    ws = tmp_path / "ws"
    _run(scripted({"*": submit(model_finding())}), ws, keep_state=True)
    t = scripted({"*": submit()})
    other = change(file_change("src/other.py"))
    with pytest.raises(InputError, match="different change"):
        asyncio.run(run_review(other, Config(routing="all"), t, ws, resume=True))
    assert t.requests == []


def test_resume_without_a_saved_run(tmp_path, scripted):
    ws = tmp_path / "ws"
    _run(scripted({"*": submit()}), ws)                                   # no keep_state: nothing saved
    with pytest.raises(InputError, match="no saved run"):
        _run(scripted({"*": submit()}), ws, resume=True)
