"""The bot's hidden markers and the defusing of text it did not write.

Hidden markers are HTML comments, `<!-- reviewbot:KIND {json} -->`, with `<`, `>` and `-` escaped
inside the JSON so nothing in it can end the comment. They are read only from the bot's own posts
(publish.prior); text the bot did not write itself (model output, file paths) is defused by
reviewbot.output.safety so it cannot forge one, ping people (@mentions) or break out of a code fence. Pure.
"""
from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY = 65536                  # GitHub's limit, in characters, for a review body and a comment


MAX_INLINE = 50                   # inline comments per review; more go to the body


MAX_OVERVIEW = 6000


MAX_EXPLANATION = 6000


SUMMARY, UPDATE, FINDING, FIXED, OVERVIEW, LATEST = "summary", "update", "finding", "fixed", "overview", "latest"


REOPENED, WITHDRAWN = "reopened", "withdrawn"


STATE_VERSION = 1


_MARKER = re.compile(r"<!-- reviewbot:([a-z]+) (\{[^<>]*?\}) -->")


_BLOCK = re.compile(r"<!-- reviewbot:finding (\{[^<>]*?\}) -->\n(.*?)\n<!-- /reviewbot:finding -->", re.S)





def marker(kind: str, data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("-", "\\u002d")
    return f"<!-- reviewbot:{kind} {text} -->"


def read_markers(body: str, kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, data in _MARKER.findall(body or ""):
        if k == kind:
            try:
                value = json.loads(data)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def _section(body: str, name: str) -> str | None:
    m = re.search(rf"<!-- reviewbot:{name} -->\n(.*?)\n<!-- /reviewbot:{name} -->", body or "", re.S)
    return m.group(1) if m else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(0, limit - 2)].rstrip() + " …"


def short(sha: str) -> str:
    return (sha or "")[:7]
