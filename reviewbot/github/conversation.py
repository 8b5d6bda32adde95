"""The conversation on a PR: commands in comments, replies in the bot's threads, and the state
(suppressed findings, pause, comments already answered) that lives in the bot's own posts.

Every answer the bot posts in the conversation carries one `<!-- reviewbot:conv {...} -->` marker:
`re` (the comment answered: a re-run of the same event finds it and posts nothing), `sup` (the
fingerprints suppressed on this PR), `pause` (true/false, the newest wins) and `th` (the root of a
thread the bot answered a question or an objection in: it answers once per thread). `read_state` reads
them from the bot's own issue and review comments only: anyone can type a marker. Pure.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from reviewbot.github.event import TRUSTED_ASSOCIATIONS
from reviewbot.github.markers import marker, read_markers
from reviewbot.output.safety import prose


class Said(Protocol):
    """A comment as the API lists it (api.PostedComment)."""

    @property
    def author(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def association(self) -> str: ...


class _Root(Protocol):
    @property
    def id(self) -> int: ...


class BotThread(Protocol):
    """One of the bot's threads (prior.Thread)."""

    @property
    def comment(self) -> _Root: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def specialist(self) -> str: ...


CONV = "conv"
COMMANDS = ("review", "full-review", "pause", "resume", "ignore", "help")
_COMMAND = re.compile(r"^\s*/reviewbot(?:\s+([a-z-]+))?(?:[ \t]+(.*))?$", re.MULTILINE | re.IGNORECASE)
# Replies that close a thread: the finding is known and accepted, or wrong.
_DISMISS = re.compile(
    r"\b(won'?t\s*fix|wont\s*fix|will\s+not\s+fix|not\s+(?:going\s+to|gonna)\s+fix|acknowledged?|ack|"
    r"false\s+positive|not\s+a\s+(?:bug|problem|issue)|working\s+as\s+intended|by\s+design|intended|"
    r"ignore\s+(?:this|it)|known\s+issue)\b", re.IGNORECASE)

HELP = "\n".join((
    "Commands (from people with write access to this repository), one per comment:",
    "",
    "- `/reviewbot review`: review the commits pushed since the last review",
    "- `/reviewbot full-review`: review the whole pull request again",
    "- `/reviewbot pause` / `/reviewbot resume`: stop / restart automatic reviews on this pull request",
    "- `/reviewbot ignore <finding>`: never report this finding on this pull request again (a fingerprint, "
    "or words of its title)",
    "- `/reviewbot help`: this list",
    "",
    "In a thread of mine, reply \"won't fix\", \"acknowledged\" or \"false positive\" to resolve it and silence "
    "the finding on this pull request; ask a question or disagree, and I answer once (and withdraw the finding "
    "when you are right)."))


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
    argued: frozenset[int] = frozenset()       # threads (root comment ids) the bot answered in


def read_state(comments: Iterable[Said], login: str) -> State:
    """From the bot's own comments (issue and review comments alike: objects with author and body),
    in creation order."""
    answered: set[int] = set()
    suppressed: set[str] = set()
    paused = False
    argued: set[int] = set()
    for c in comments:
        if c.author != login:
            continue
        for m in read_markers(c.body, CONV):
            if isinstance(m.get("re"), int):
                answered.add(m["re"])
            suppressed.update(str(fp) for fp in m.get("sup") or () if isinstance(fp, str))
            if isinstance(m.get("pause"), bool):
                paused = m["pause"]
            if isinstance(m.get("th"), int) and not isinstance(m.get("th"), bool):
                argued.add(m["th"])
    return State(frozenset(answered), frozenset(suppressed), paused, frozenset(argued))


def answer(text: str, re_id: int, suppress: tuple[str, ...] = (), pause: bool | None = None,
           thread: int | None = None) -> str:
    """The body of one answer: the bot's text and its state marker. `thread`: the root of the thread
    answered in (a question or an objection gets one answer per thread)."""
    data: dict[str, object] = {"re": re_id}
    if suppress:
        data["sup"] = sorted(set(suppress))
    if pause is not None:
        data["pause"] = pause
    if thread is not None:
        data["th"] = thread
    return f"{text.rstrip()}\n\n{marker(CONV, data)}"


def match_finding(arg: str, findings: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
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


_ANY_MARKER = re.compile(r"<!--\s*/?reviewbot:[^>]*-->\n?")


def thread_for_model(root_body: str, replies: Iterable[Said]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The finding as the bot posted it (its hidden markers left out) and the thread's comments as
    (author, body), oldest first, for the answer call. `replies`: the thread's replies (author, body)."""
    finding = _ANY_MARKER.sub("", root_body or "").strip()
    return finding, tuple((c.author, _ANY_MARKER.sub("", c.body or "").strip()) for c in replies)


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


def trusted_logins(comments: Iterable[Said]) -> frozenset[str]:
    """Who has write access, as their comments on this PR show it (GitHub's author association)."""
    return frozenset(c.author for c in comments if c.association.upper() in TRUSTED_ASSOCIATIONS
                     and not c.author.endswith("[bot]"))


MAX_PERMISSION_LOOKUPS = 10      # reactors asked about per run, beyond those whose comments show their access


def trusted_reactors(reactions: dict[int, tuple[tuple[str, str], ...]], comments: Iterable[Said],
                     can_write: Callable[[str], bool | None]) -> frozenset[str]:
    """Who of the people that put 👍/👎 on the bot's comments has write access: those whose comments on
    the PR show it (their author association), and up to MAX_PERMISSION_LOOKUPS others whose
    permission GitHub confirms (`can_write`; None, GitHub not saying, is no). Bots never count."""
    trusted = trusted_logins(comments)
    others = sorted({login for reacted in reactions.values() for login, content in reacted
                     if content in ("+1", "-1") and login and login not in trusted and not login.endswith("[bot]")})
    return trusted | frozenset(login for login in others[:MAX_PERMISSION_LOOKUPS] if can_write(login) is True)


def feedback(threads: Iterable[BotThread], reactions: dict[int, tuple[tuple[str, str], ...]],
             trusted: frozenset[str]) -> Feedback:
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
