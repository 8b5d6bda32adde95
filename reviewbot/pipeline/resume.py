"""Saving each agent's finished result beside the workspace, and loading them to resume a run.

A run with --keep-workspace DIR writes DIR/state/<agent>.json as soon as an agent finishes, so a
run that breaks later (network, budget, Ctrl-C) has already kept everything it paid for.
`reviewbot review --resume DIR` loads the agents that finished and runs only the others. The
shared prefix's sha256 is saved too: a resume against a different change or configuration is
refused rather than mixing two reviews.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reviewbot.agents.loop import AgentResult
from reviewbot.domain.findings import Finding, Submission
from reviewbot.errors import InputError
from reviewbot.llm.usage import CallRecord, Usage
from reviewbot.secrets import redact_json

STATE = "state"


def _submission_json(s: Submission | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"findings": [f.to_json() for f in s.findings], "verdict": s.verdict, "overview": s.overview,
            "rejected": [list(x) for x in s.rejected], "duplicates": [list(x) for x in s.duplicates]}


def _submission(d: dict[str, Any] | None) -> Submission | None:
    if d is None:
        return None
    findings = tuple(Finding.from_json(f) for f in d["findings"])
    return Submission(findings, d.get("verdict"), d.get("overview"),
                      tuple(tuple(x) for x in d.get("rejected") or ()),
                      tuple(tuple(x) for x in d.get("duplicates") or ()))


def agent_json(r: AgentResult) -> dict[str, Any]:
    return {"name": r.name, "submission": _submission_json(r.submission), "notes": list(r.notes), "error": r.error,
            "files_read": list(r.files_read),
            "calls": [{**asdict(c), "usage": asdict(c.usage)} for c in r.calls]}


def agent_from_json(d: dict[str, Any]) -> AgentResult:
    calls = [CallRecord(**{**c, "usage": Usage(**c["usage"])}) for c in d.get("calls") or ()]
    return AgentResult(d["name"], _submission(d.get("submission")), calls, list(d.get("notes") or ()),
                       d.get("error"), list(d.get("files_read") or ()))


def save_agent(root: Path, r: AgentResult) -> None:
    state = Path(root) / STATE
    state.mkdir(exist_ok=True)
    tmp = state / f".{r.name}.json.tmp"
    tmp.write_text(json.dumps(agent_json(r), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(state / f"{r.name}.json")               # atomic: a crash never leaves half a file


def save_run(root: Path, info: dict[str, Any]) -> None:
    (Path(root) / STATE).mkdir(exist_ok=True)
    (Path(root) / STATE / "run.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")


def load(root: Path, prefix_sha256: str) -> dict[str, AgentResult]:
    """The agents of a saved run that finished with a submission, by name."""
    state = Path(root) / STATE
    try:
        info = json.loads((state / "run.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError(f"cannot resume: no saved run in {root} (run with --keep-workspace first)") from None
    if info.get("prefix_sha256") != prefix_sha256:
        raise InputError(f"cannot resume: the run saved in {root} was for a different change or configuration")
    done = {}
    for path in sorted(state.glob("*.json")):
        if path.name == "run.json":
            continue
        try:
            r = agent_from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as e:         # ValueError: JSON, or a field
            raise InputError(f"cannot resume: {path} is damaged ({e})") from None
        if r.submission is not None and not r.error:
            done[r.name] = r
    return done


def redact_saved(root: Path, known: tuple[str, ...]) -> None:
    """Each reviewer's saved result (state/*.json) redacted of the change's secrets, once the run is
    over (or broke off): a kept or cached state directory carries no secret further."""
    state = Path(root) / STATE
    for path in sorted(state.glob("*.json")) if state.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        clean = redact_json(data, known)
        if clean != data:
            path.write_text(json.dumps(clean, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
