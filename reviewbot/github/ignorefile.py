"""`.reviewbot/ignore.toml`: the repository's explicit, reviewable memory of findings not to report.

Read from the PR's base commit (never from the PR itself, which could silence its own review), and
validated here: every entry names what it ignores (a path glob, a fingerprint, or a title pattern)
and says why. The bot never writes the file; when a finding is dismissed it proposes the entry
(`proposal`) in its answer, for a person to commit. Pure.

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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reviewbot.errors import ConfigError

IGNORE_FILE = ".reviewbot/ignore.toml"


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


def proposal(fingerprint: str, title: str, reason: str) -> str:
    """The entry a person can add to the base branch's ignore file to silence a finding everywhere."""
    safe = reason.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:200]
    note = title.replace("\n", " ").replace("`", "'")[:80]
    return (f"To ignore it on every pull request, add this to `{IGNORE_FILE}` on the base branch:\n\n"
            f"```toml\n[[fingerprints]]\nfingerprint = \"{fingerprint}\"   # {note}\n"
            f"reason = \"{safe}\"\n```")


def fetch_ignore(api, base_sha: str) -> IgnoreFile:
    """The base commit's ignore file: read only when `.reviewbot/` exists there."""
    if (".reviewbot", "dir") not in api.list_dir("", base_sha):
        return IgnoreFile()
    return parse_ignore(api.read_text(IGNORE_FILE, base_sha))
