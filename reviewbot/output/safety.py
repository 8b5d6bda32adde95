"""Text safety: every sanitiser of text reviewbot did not write (a PR's title, description, paths
and code; a model's findings), whether it is shown to a model, a terminal or GitHub.

- `clean`: control characters removed (tabs and newlines kept), so no terminal escape is smuggled
  in through a finding or a title. Every reporter uses it.
- `defuse`: `clean`, and every marker lookalike made inert with a zero-width space: the fence
  markers of prompts (`<untrusted-data`), so fenced text cannot end its own fence, and the bot's
  hidden GitHub markers (`<!-- reviewbot:`), so model output cannot forge one.
- `fence`: untrusted text between explicit markers, read by the model as material under review,
  never as instructions.
- `inline`: untrusted text on one line of a table (control characters escaped, pipes escaped).
- `prose`: `defuse`, and @mentions outside code made inert (a finding must not ping anyone).
- `code_fence`: a fenced code block the text cannot close.

One control-character class (CONTROL) serves them all. Pure; imports nothing from reviewbot.
"""
from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f\x9b]")            # C0, DEL and the one-byte CSI
_KEPT = frozenset("\t\n")                               # kept by clean(): text keeps its layout
_FENCE_MARKER = re.compile(r"<(/?)\s*(untrusted-data)", re.IGNORECASE)
_BOT_MARKER = re.compile(r"(<!--\s*/?)(reviewbot)(:)", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@/`.])@(?=[A-Za-z0-9])")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
ZWSP = "\u200b"


def clean(text: str | None) -> str:
    """Control characters removed, tabs and newlines kept."""
    return CONTROL.sub(lambda m: m.group(0) if m.group(0) in _KEPT else "", text or "")


def defuse(text: str | None) -> str:
    """clean(), and marker lookalikes (`<untrusted-data`, `<!-- reviewbot:`) made inert."""
    text = _FENCE_MARKER.sub(lambda m: "<" + m.group(1) + ZWSP + m.group(2), clean(text))
    return _BOT_MARKER.sub(lambda m: m.group(1) + "review" + ZWSP + "bot" + m.group(3), text)


def fence(label: str, text: str) -> str:
    """Untrusted text as data, between markers it cannot forge."""
    return f'<untrusted-data source="{label}">\n{defuse(text).rstrip()}\n</untrusted-data>'


def inline(text: str) -> str:
    """Untrusted text shown on one line (a file name in a table): control characters escaped, so it
    cannot start a line of its own, and table pipes escaped."""
    return CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text).replace("|", "\\|")


def prose(text: str | None) -> str:
    """defuse(), and @mentions outside code made inert: a finding must not ping people or teams."""
    parts = _CODE.split(defuse(text))
    return "".join(p if i % 2 else _MENTION.sub("@" + ZWSP, p) for i, p in enumerate(parts))


def code_fence(text: str, info: str = "") -> str:
    """A fenced block that the text cannot close: longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"
