"""The conversation on a PR: commands in comments, replies in the bot's threads, and the state
(suppressed findings, pause, comments already answered) that lives in the bot's own posts.

Every answer the bot posts in the conversation carries one `<!-- reviewbot:conv {...} -->` marker:
`re` (the comment answered: a re-run of the same event finds it and posts nothing), `sup` (the
fingerprints suppressed on this PR) and `pause` (true/false, the newest wins). `read_state` reads
them from the bot's own issue and review comments only: anyone can type a marker. Pure.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from reviewbot.github.event import TRUSTED_ASSOCIATIONS
from reviewbot.github.markers import marker, read_markers
from reviewbot.output.safety import prose

CONV = "conv"
COMMANDS = ("review", "full-review", "pause", "resume", "ignore", "help")
_COMMAND = re.compile(r"^\s*/reviewbot(?:\s+([a-z-]+))?(?:[ \t]+(.*))?$", re.MULTILINE | re.IGNORECASE)
# Replies that close a thread: the finding is known and accepted, or wrong.
_DISMISS = re.compile(
    r"\b(won'?t\s*fix|wont\s*fix|will\s+not\s+fix|not\s+(?:going\s+to|gonna)\s+fix|acknowledged?|ack|"
    r"false\s+positive|not\s+a\s+(?:bug|problem|issue)|working\s+as\s+intended|by\s+design|intended|"
    r"ignore\s+(?:this|it)|known\s+issue)\b", re.IGNORECASE)

HELP = """Commands (from people with write access to this repository), one per comment:

- `/reviewbot review`: review the commits pushed since the last review
- `/reviewbot full-review`: review the whole pull request again
- `/reviewbot pause` / `/reviewbot resume`: stop / restart automatic reviews on this pull request
- `/reviewbot ignore <finding>`: never report this finding on this pull request again (a fingerprint, or words of its title)
- `/reviewbot help`: this list

In a thread of mine, reply "won't fix", "acknowledged" or "false positive" to resolve it and silence the finding on this pull request."""


@dataclass(frozen=True)
class Command:
    name: str                     # one of COMMANDS, or "unknown"
    arg: str = ""


def parse_command(body: str) -> Command | None:
    """The first `/reviewbot ...` line of a comment (outside quotes), or None."""
    for m in _COMMAND.finditer(body or ""):
        name = (m.group(1) or "help").lower()
        return Command(name if name in COMMANDS else "unknown", (m.group(2) or "").strip())
    return None


def is_dismissal(body: str) -> bool:
    """A reply that accepts or rejects the finding ("won't fix", "acknowledged", "false positive")."""
    text = "\n".join(line for line in (body or "").splitlines() if not line.lstrip().startswith(">"))
    return bool(_DISMISS.search(text))


@dataclass(frozen=True)
class State:
    answered: frozenset[int] = frozenset()     # comment ids the bot answered
    suppressed: frozenset[str] = frozenset()   # fingerprints silenced on this PR
    paused: bool = False


def read_state(comments, login: str) -> State:
    """From the bot's own comments (issue and review comments alike: objects with author and body),
    in creation order."""
    answered: set[int] = set()
    suppressed: set[str] = set()
    paused = False
    for c in comments:
        if c.author != login:
            continue
        for m in read_markers(c.body, CONV):
            if isinstance(m.get("re"), int):
                answered.add(m["re"])
            suppressed.update(str(fp) for fp in m.get("sup") or () if isinstance(fp, str))
            if isinstance(m.get("pause"), bool):
                paused = m["pause"]
    return State(frozenset(answered), frozenset(suppressed), paused)


def answer(text: str, re_id: int, suppress: tuple[str, ...] = (), pause: bool | None = None) -> str:
    """The body of one answer: the bot's text and its state marker."""
    data: dict = {"re": re_id}
    if suppress:
        data["sup"] = sorted(set(suppress))
    if pause is not None:
        data["pause"] = pause
    return f"{text}\n\n{marker(CONV, data)}"


def match_finding(arg: str, findings) -> tuple[str, str] | None:
    """`/reviewbot ignore ARG`: (fingerprint, title) of the one finding ARG names: a fingerprint (or
    its start, 6+ characters), else the only title containing ARG. `findings`: (fingerprint, title)."""
    arg = arg.strip().strip("`").strip()
    if not arg:
        return None
    items = list(dict.fromkeys(findings))
    if len(arg) >= 6:
        hits = [f for f in items if f[0].startswith(arg)]
        if len(hits) == 1:
            return hits[0]
    hits = [f for f in items if arg.lower() in f[1].lower()]
    return hits[0] if len(hits) == 1 else None


def title_of(title: str, limit: int = 200) -> str:
    """Text the bot did not write (a title, a command's argument, a status quoting GitHub), safe
    inside an answer: defused, no backticks, cut."""
    return prose(title).replace("`", "'")[:limit]


@dataclass(frozen=True)
class Feedback:
    """What people with write access said with reactions on the bot's inline comments."""

    down: frozenset[str] = frozenset()                 # fingerprints with a 👎: suppressed on this PR
    counts: tuple[tuple[str, int, int], ...] = ()      # (specialist, 👍, 👎), by specialist

    def line(self) -> str:
        """The summary's line ("" without reactions)."""
        if not self.counts:
            return ""
        return "**Feedback:** " + ", ".join(f"{sp or 'unknown'} 👍 {up} 👎 {down}" for sp, up, down in self.counts)

    def output(self) -> str:
        """The `feedback` output: JSON, {specialist: {"up": n, "down": n}}."""
        return json.dumps({sp or "unknown": {"up": up, "down": down} for sp, up, down in self.counts},
                          sort_keys=True, separators=(",", ":"))


def trusted_logins(comments) -> frozenset[str]:
    """Who has write access, as their comments on this PR show it (GitHub's author association)."""
    return frozenset(c.author for c in comments if c.association.upper() in TRUSTED_ASSOCIATIONS
                     and not c.author.endswith("[bot]"))


def feedback(threads, reactions: dict[int, tuple[tuple[str, str], ...]], trusted: frozenset[str]) -> Feedback:
    """Count 👍/👎 of trusted people per specialist; a 👎 suppresses the thread's finding. `threads`:
    the bot's threads (prior.Thread); `reactions`: (login, content) by root comment id."""
    counts: dict[str, list[int]] = {}
    down: set[str] = set()
    for t in threads:
        people = [(login, content) for login, content in reactions.get(t.comment.id, ()) if login in trusted]
        up = sum(1 for _, c in people if c == "+1")
        no = sum(1 for _, c in people if c == "-1")
        if up or no:
            n = counts.setdefault(t.specialist, [0, 0])
            n[0] += up
            n[1] += no
        if no:
            down.add(t.fingerprint)
    return Feedback(frozenset(down), tuple((sp, u, d) for sp, (u, d) in sorted(counts.items())))
