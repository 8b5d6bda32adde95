"""`.reviewbot/ignore.toml`: the repository's explicit, reviewable memory of findings not to report.

Read from the PR's base commit (never from the PR itself, which could silence its own review), and
validated here: every entry names what it ignores (a path glob, a fingerprint, or a title pattern)
and says why. The bot never writes the file; when the same finding (its fingerprint, or its title)
has been dismissed on several other PRs of the repository, as the bot's own markers there show
(`repeated_dismissals`: a bounded number of API calls), its answer proposes the entry (`proposal`)
for a person to commit. Pure but for `fetch_ignore` and `repeated_dismissals`, which read through the
API passed in.

    [[paths]]
    path = "vendor/**"
    reason = "third-party code, reviewed upstream"

    [[fingerprints]]
    fingerprint = "3f2a9c0d1e4b"       # the fingerprint, or its first 12+ characters
    reason = "the float is intended: prices are display-only"

    [[titles]]
    pattern = "(?i)magic number"
    reason = "we accept literal constants in tests"
"""
from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reviewbot.errors import APIError, ConfigError
from reviewbot.github.markers import FINDING, read_markers

IGNORE_FILE = ".reviewbot/ignore.toml"
PROPOSE_AFTER = 2          # other PRs on which the same finding was dismissed before an entry is proposed
MAX_OTHER_PULLS = 10       # the most recently updated PRs looked at (3 API calls each, at most)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: str = Field(min_length=1, max_length=500)


class PathRule(_Entry):
    path: str = Field(min_length=1, max_length=300)


class FingerprintRule(_Entry):
    fingerprint: str = Field(min_length=12, max_length=64, pattern=r"^[0-9a-f]+$")


class TitleRule(_Entry):
    pattern: str = Field(min_length=1, max_length=300)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from None
        return v


class IgnoreFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    paths: tuple[PathRule, ...] = ()
    fingerprints: tuple[FingerprintRule, ...] = ()
    titles: tuple[TitleRule, ...] = ()

    def reason(self, path: str, fingerprint: str, title: str) -> str | None:
        """Why a finding is ignored, or None."""
        for p in self.paths:
            if fnmatch.fnmatchcase(path, p.path):
                return p.reason
        for f in self.fingerprints:
            if fingerprint.startswith(f.fingerprint):
                return f.reason
        for t in self.titles:
            if re.search(t.pattern, title):
                return t.reason
        return None


def parse_ignore(text: str | None, where: str = IGNORE_FILE) -> IgnoreFile:
    """The file's rules (none when there is no file); a bad file is one ConfigError naming the field."""
    if text is None:
        return IgnoreFile()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML ({e})") from None
    try:
        return IgnoreFile.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{where}: {loc}: {err['msg']}") from None


def proposal(fingerprint: str, title: str, reason: str, elsewhere: tuple[int, ...] = ()) -> str:
    """The entry a person can add to the base branch's ignore file to silence a finding everywhere.
    `elsewhere`: the other PRs it was dismissed on (named in the text)."""
    seen = (f"This finding was dismissed on {', '.join(f'#{n}' for n in elsewhere)} too. " if elsewhere else "")
    safe = reason.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:200]
    note = title.replace("\n", " ").replace("`", "'")[:80]
    return (f"{seen}To ignore it on every pull request, add this to `{IGNORE_FILE}` on the base branch:\n\n"
            f"```toml\n[[fingerprints]]\nfingerprint = \"{fingerprint}\"   # {note}\n"
            f"reason = \"{safe}\"\n```")


def fetch_ignore(api: Any, base_sha: str) -> IgnoreFile:
    """The base commit's ignore file: read only when `.reviewbot/` exists there."""
    if (".reviewbot", "dir") not in api.list_dir("", base_sha):
        return IgnoreFile()
    return parse_ignore(api.read_text(IGNORE_FILE, base_sha))


class _Comment(Protocol):
    author: str
    body: str


def suppressed_on(comments: Iterable[_Comment], login: str) -> tuple[frozenset[str], frozenset[str]]:
    """(fingerprints, lower-cased titles) the bot suppressed on one PR, from its own comments there:
    the `sup` of its conversation markers, titled by its finding markers."""
    fps: set[str] = set()
    titles: dict[str, str] = {}
    for c in comments:
        if c.author != login:
            continue
        for m in read_markers(c.body, "conv"):
            fps.update(fp for fp in m.get("sup") or () if isinstance(fp, str))
        for m in read_markers(c.body, FINDING):
            if isinstance(m.get("fp"), str) and isinstance(m.get("t"), str):
                titles[m["fp"]] = m["t"]
    return frozenset(fps), frozenset(titles[fp].strip().lower() for fp in fps if fp in titles)


def repeated_dismissals(api: Any, login: str, fingerprint: str, title: str, need: int = PROPOSE_AFTER,
                        limit: int = MAX_OTHER_PULLS) -> tuple[int, ...]:
    """The other PRs (of the `limit` most recently updated) on which the bot suppressed this finding
    (the same fingerprint, or a suppressed finding of the same title), stopping at `need` of them: at
    most 1 + 3 * limit API calls. A failure to read is no repetition (the answer goes out without a
    proposal), never an error of the dismissal."""
    found: list[int] = []
    want = title.strip().lower()
    try:
        for number in api.other_pulls(limit):
            other = api.sibling(number)
            fps, titles = suppressed_on((*other.review_comments(), *other.issue_comments()), login)
            if fingerprint in fps or (want and want in titles):
                found.append(number)
                if len(found) >= need:
                    break
    except APIError:
        return ()
    return tuple(found)


def propose_if_repeated(api: Any, login: str, fingerprint: str, title: str, reason: str) -> str:
    """The ignore-file proposal for a dismissed finding, when it was dismissed on PROPOSE_AFTER other
    PRs; else ""."""
    elsewhere = repeated_dismissals(api, login, fingerprint, title)
    if len(elsewhere) < PROPOSE_AFTER:
        return ""
    return proposal(fingerprint, title, reason, elsewhere)
