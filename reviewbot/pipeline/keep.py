"""What `--keep-workspace DIR` leaves beside the workspace once a review is over, for every command
that takes the flag (`reviewbot review`, `reviewbot github`): usage.json, review.json and each
reviewer's raw findings in findings/<specialist>.json, all redacted of the change's secrets.

Each reviewer's result in DIR/state is saved as it finishes, and redacted once the run ends or
breaks off, by reviewbot.pipeline.resume (`keep_state`, `redact_saved`).
"""
from __future__ import annotations

import json
from pathlib import Path

from reviewbot.domain.result import ReviewResult
from reviewbot.errors import InputError
from reviewbot.llm.usage import usage_json
from reviewbot.output.render import render
from reviewbot.secrets import redact_json


def write_kept(dir_: Path, result: ReviewResult) -> None:
    """usage.json, review.json and findings/<specialist>.json beside the workspace, redacted."""
    try:
        (dir_ / "usage.json").write_text(json.dumps(usage_json(result.calls), indent=2) + "\n")
        raw = dir_ / "findings"
        raw.mkdir(exist_ok=True)
        for name, sub in sorted(result.raw.items()):
            items = [] if sub is None else [f.to_json() for f in sub.findings]
            (raw / f"{name}.json").write_text(json.dumps(redact_json(items, result.secrets), indent=2,
                                                         ensure_ascii=False) + "\n")
        (dir_ / "review.json").write_text(render(result, "json"))
    except OSError as e:
        raise InputError(f"cannot write to the kept workspace {dir_}: {e.strerror}") from None

