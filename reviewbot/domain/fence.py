"""Fencing of untrusted text (PR title, description, commit messages, patches) as data.

Everything a PR author wrote is shown to the model between explicit markers so that it is read as
material under review, never as instructions. A fake closing marker inside the text is defused, so
the text cannot end its own fence.
"""
from __future__ import annotations

import re

_MARKER = re.compile(r"<(/?)\s*(untrusted-data)", re.IGNORECASE)


def defuse(text: str) -> str:
    """Make any marker-lookalike inside untrusted text inert (`<untrusted-data` -> `<​untrusted-data`)."""
    return _MARKER.sub(lambda m: "<" + m.group(1) + "\u200b" + m.group(2), text)


def fence(label: str, text: str) -> str:
    return f'<untrusted-data source="{label}">\n{defuse(text).rstrip()}\n</untrusted-data>'


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def inline(text: str) -> str:
    """Untrusted text shown on one line (a file name in a table): control characters escaped, so it
    cannot start a line of its own, and table pipes escaped."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text).replace("|", "\\|")
