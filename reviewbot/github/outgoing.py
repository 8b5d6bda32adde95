"""The one gate for every text reviewbot writes to GitHub.

Review bodies, inline comments, replies, summary edits, the job summary ($GITHUB_STEP_SUMMARY) and
the step outputs ($GITHUB_OUTPUT) all pass through `outgoing()` right before they leave: gh.py
calls it on every body it sends, and the `github` command on what it writes to the job's files.
The parts a model or a PR author wrote are defused earlier, where they are put together with the
bot's own hidden markers (publish.prose/defuse: no @mentions, no forged `<!-- reviewbot:` markers,
no `<details>` breakers), because the finished text holds markers that must stay intact. What is
safe on the whole finished text is done here: control characters out, line ends normalised, and
the secret-redaction gate (reviewbot.secrets.redact_output: every secret value seen in the change,
and anything shaped like a secret), so it sees everything that is published, once.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from reviewbot.output.safety import clean
from reviewbot.secrets import redact_output

_FOLD = re.compile(r"<(/?)(details|summary)\b", re.I)


def outgoing(text: str, known: Iterable[str] = ()) -> str:
    """Every text bound for GitHub, just before it is sent or written; `known`: the change's secrets."""
    return redact_output(clean(text.replace("\r\n", "\n")), known)


def unfoldable(text: str) -> str:
    """Text shown inside a `<details>` fold: a `<details>`/`<summary>` tag in it is made inert
    (a zero-width space after `<`), so it can neither close the fold nor open another."""
    return _FOLD.sub(lambda m: "<\u200b" + m.group(1) + m.group(2), text)
