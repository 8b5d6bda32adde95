"""Run configuration: one frozen value, read once at the entry point and passed down.

`Config` is a pydantic dataclass: its fields are the keys of `.reviewbot.toml` / `[tool.reviewbot]`,
their defaults live here and nowhere else, and their annotated types are the validation (a value is
checked whoever builds a Config: a config file, a flag through `with_overrides`, `dataclasses.replace`).
A refused value is one line naming the key and the file (ConfigError, exit 2); TOML's tables and lists
become tuples, so a Config is hashable and compares by value. `load_config` / `config_from_files`
read the files; everything below the CLI receives a `Config`.
"""
from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, ValidationError
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError

from reviewbot.domain.enums import (
    EFFORTS,
    MODES,
    ROUTINGS,
    TTLS,
    WARMUP_STRATEGIES,
    BaseTTL,
    Effort,
    Mode,
    Routing,
    Severity,
    Warmup,
)
from reviewbot.domain.specialists import NAMES, SUMMARY
from reviewbot.errors import ConfigError
from reviewbot.llm.providers import PROVIDERS, SETTINGS

DEFAULT_MODEL = "claude-sonnet-5-5"


SUMMARISABLE = ("lockfile", "generated")          # file kinds `summarise` may name (binary always is)

_REFUSED, _WHOLE = "config", "config_whole"


def _refuse(expect: str) -> PydanticCustomError:
    """'KEY' must be `expect`, got VALUE."""
    return PydanticCustomError(_REFUSED, expect)


def _whole(message: str) -> PydanticCustomError:
    """A message of its own (it names the key itself)."""
    return PydanticCustomError(_WHOLE, message)


# --- field types: each one's check and its sentence -----------------------------------------------

def _check(expect: str, ok: Callable[[Any], bool], convert: Callable[[Any], Any] = lambda v: v) -> BeforeValidator:
    def check(v: Any) -> Any:
        if not ok(v):
            raise _refuse(expect)
        return convert(v)
    return BeforeValidator(check)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _one_of(values: Iterable[str]) -> BeforeValidator:
    values = tuple(values)
    return _check("one of " + ", ".join(values), lambda v: isinstance(v, str) and v in values)


def _optional(values: Iterable[str]) -> BeforeValidator:
    values = tuple(values)
    return _check("one of " + ", ".join(values), lambda v: v is None or isinstance(v, str) and v in values)


def _strings(expect: str, ok: Callable[[str], bool] = lambda v: True) -> BeforeValidator:
    """A TOML list (or a tuple) of strings, as a tuple."""
    return _check(expect, lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) and ok(x) for x in v),
                  tuple)


def _table(key: str, expect: str, ok: Callable[[Any], bool]) -> BeforeValidator:
    """A TOML table of specialist name = value (or the pairs it becomes), as sorted pairs."""
    def check(v: Any) -> tuple[tuple[str, Any], ...]:
        items = dict(v) if isinstance(v, (list, tuple)) and all(isinstance(x, tuple) and len(x) == 2 for x in v) \
            else v
        if not isinstance(items, dict) or not all(ok(x) for x in items.values()):
            raise _refuse(expect)
        unknown = [k for k in items if k not in NAMES]
        if unknown:
            raise _whole(f"unknown specialist {unknown[0]!r} in '{key}'")
        return tuple(sorted(items.items()))
    return BeforeValidator(check)


def _specialists(v: Any) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise _refuse("a list of specialist names")
    unknown = [x for x in v if x not in NAMES]
    if unknown:
        raise _whole(f"unknown specialist {unknown[0]!r} in 'specialists' (known: {', '.join(NAMES)})")
    return tuple(dict.fromkeys(v))


def _path_instructions(v: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(v, (list, tuple)) and all(isinstance(x, tuple) for x in v):
        v = [dict(zip(("path", "instructions"), x, strict=False)) for x in v]
    ok = isinstance(v, list) and all(isinstance(x, dict) and set(x) == {"path", "instructions"}
                                     and all(isinstance(y, str) and y for y in x.values()) for x in v)
    if not ok:
        raise _refuse('a list of tables with "path" (a glob) and "instructions"')
    return tuple((x["path"], x["instructions"]) for x in v)


def _setting(key: str) -> BeforeValidator:
    """A platform setting of reviewbot.llm.providers: one word, one of its choices when it has some;
    None when not set (a field's value is validated again by dataclasses.replace, so "not set" must
    be a valid value, and an empty string is not one)."""
    choices = SETTINGS[key].choices

    def check(v: Any) -> str | None:
        if v is None:                                  # not set: the SDK's environment variable, if any
            return None
        if not _is_text(v) or any(c.isspace() for c in v.strip()):
            raise _refuse("a non-empty string without spaces")
        if choices and v.strip() not in choices:
            raise _refuse("one of " + ", ".join(choices))
        return str(v.strip())
    return BeforeValidator(check)


Model = Annotated[str, _check("a non-empty string", _is_text, str.strip)]
PositiveInt = Annotated[int, _check("a positive integer", lambda v: _is_int(v) and v >= 1)]
Count = Annotated[int, _check("a non-negative integer", lambda v: _is_int(v) and v >= 0)]
Seconds = Annotated[float, _check("a positive number", lambda v: _is_number(v) and v > 0, float)]
Amount = Annotated[float, _check("a non-negative number", lambda v: _is_number(v) and v >= 0, float)]
Fraction = Annotated[float, _check("a number from 0 to 1", lambda v: _is_number(v) and 0 <= v <= 1, float)]
Flag = Annotated[bool, _check("true or false", lambda v: isinstance(v, bool))]
Globs = Annotated[tuple[str, ...], _strings("a list of path globs", bool)]
Level = Annotated[Effort | None, _optional(EFFORTS)]


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Config:
    model: Model = DEFAULT_MODEL
    specialists: Annotated[tuple[str, ...], BeforeValidator(_specialists)] = ()   # empty: all of the registry
    routing: Annotated[Routing, _one_of(ROUTINGS)] = Routing.TIERED
    mode: Annotated[Mode, _one_of(MODES)] = Mode.CACHED
    max_turns: PositiveInt = 8                 # per agent, tool round-trips included
    max_output_tokens: PositiveInt = 32_000    # per call, thinking included (thinking is billed as output)
    warmup: Annotated[Warmup, _one_of(WARMUP_STRATEGIES)] = Warmup.LEADER
    # TTL of the tools + system breakpoint and of the one on the last pre-read call ("1h" pays across PRs)
    base_ttl: Annotated[BaseTTL, _one_of(TTLS)] = BaseTTL.FIVE_MINUTES
    # batch mode's request layout (set by pipeline.batch.batch_config): the review's pre-read files in the
    # system prompt, cached at this TTL (agents.requests.build_batch_request); None: the interactive layout
    batch_ttl: Annotated[BaseTTL | None, _optional(TTLS)] = None
    max_retries: Count = 4                     # SDK retries (backoff with jitter) for 408/409/429/5xx
    timeout_seconds: Amount = 600.0
    min_confidence: Fraction = 0.5             # findings below are dropped before the summary
    max_patch_chars: PositiveInt = 60_000      # a longer patch file is truncated, with a note
    preload_chars: Count = 240_000             # patches pre-read into the shared prefix, at most this much
    max_files: PositiveInt = 300               # reviewable files routed to specialists; the rest are listed
    related_code_tokens: Count = 6000          # ceiling of the related-code section (scales with the change); 0: off
    repository: Flag = True                    # reviewers may read and search the repository at head and base
    budget_calls: Count = 0                    # per review; 0: no limit. Checked before each call
    budget_tokens: Count = 0
    budget_dollars: Amount = 0.0
    itpm_limit: Count = 0                      # input tokens per minute to pace under; 0: no pacing
    cache_ttl_seconds: Amount = 300.0          # the provider's 5-minute TTL (cachesim --ttl-seconds)
    extra_instructions: Annotated[tuple[tuple[str, str], ...], _table(   # (specialist, text)
        "extra_instructions", 'a table of specialist name = "text"', lambda x: isinstance(x, str))] = ()
    summarise: Annotated[tuple[str, ...], _strings(      # kinds listed, not reviewed line by line
        f"a list of file kinds from {', '.join(SUMMARISABLE)} (binary files are always summarised)",
        lambda x: x in SUMMARISABLE)] = SUMMARISABLE
    include: Globs = ()                        # path globs to review (empty: everything)
    exclude: Globs = ()                        # path globs never reviewed (listed, not routed)
    path_instructions: Annotated[tuple[tuple[str, str], ...],   # (glob, text): sent with the files it names
                                 BeforeValidator(_path_instructions)] = ()
    inline_min_severity: Annotated[Severity, _one_of(Severity)] = Severity.NIT   # below: in the review body
    max_inline_comments: PositiveInt = 25      # the rest go in the review body
    effort: Level = None                       # the review's effort (None: the model's default)
    specialist_effort: Annotated[tuple[tuple[str, Effort], ...], _table(   # (specialist, level): per-message
        "specialist_effort", "a table of specialist name = one of " + ", ".join(EFFORTS),
        lambda x: x in EFFORTS)] = ()
    summary_effort: Level = None               # the summary agent's own effort
    effort_policy: Flag = True                 # EFFORT_POLICY for agents with no effort of their own
    fallback_model: Annotated[str | None, _check(   # a refused call is retried once on this model
        "a non-empty string", lambda v: v is None or _is_text(v), lambda v: v and v.strip())] = None
    stall_seconds: Seconds = 90.0              # no byte / no event for this long: the call is retried
    deadline_seconds: Seconds = 900.0          # the whole review; then a labelled partial review (exit 5)
    # where the model runs (reviewbot.llm.providers); credentials are never configured, only found
    provider: Annotated[str, _one_of(PROVIDERS)] = "anthropic"
    aws_region: Annotated[str | None, _setting("aws_region")] = None
    aws_profile: Annotated[str | None, _setting("aws_profile")] = None
    aws_workspace_id: Annotated[str | None, _setting("aws_workspace_id")] = None
    bedrock_inference_profile: Annotated[str | None, _setting("bedrock_inference_profile")] = None
    vertex_region: Annotated[str | None, _setting("vertex_region")] = None
    vertex_project_id: Annotated[str | None, _setting("vertex_project_id")] = None
    google_cloud_project: Annotated[str | None, _setting("google_cloud_project")] = None
    google_cloud_location: Annotated[str | None, _setting("google_cloud_location")] = None
    google_cloud_workspace_id: Annotated[str | None, _setting("google_cloud_workspace_id")] = None
    foundry_resource: Annotated[str | None, _setting("foundry_resource")] = None
    delete_fixed_comments: Flag = False        # on GitHub: delete the bot's unanswered comments once fixed

    def excluded(self, path: str) -> bool:
        """Left out by `exclude`, or not matched by a non-empty `include`."""
        return any(fnmatch(path, g) for g in self.exclude) or bool(self.include) and not any(
            fnmatch(path, g) for g in self.include)

    def effort_for(self, agent: str) -> str | None:
        """The agent's own effort (the summary's is summary_effort), else, when the review runs at the
        model's default effort, EFFORT_POLICY's level (unless effort_policy is off), else None: the
        review's. A level the model lacks, or a model without per-message effort, is then ignored
        when the request is built (specialists.requests.effort_message)."""
        own = self.summary_effort if agent == SUMMARY else dict(self.specialist_effort).get(agent)
        if own is None and self.effort_policy and self.effort is None:
            return dict(EFFORT_POLICY).get(agent)
        return own

    def instructions_for(self, specialist: str) -> str:
        return "\n".join(text for name, text in self.extra_instructions if name == specialist)


def _one_line(err: ErrorDetails, where: str) -> str:
    """The first refusal of a ValidationError as `where: 'key' must be ..., got VALUE`."""
    key = ".".join(str(x) for x in err["loc"])
    if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"{where}: unknown key '{key}'"
    if err["type"] == _WHOLE:
        return f"{where}: {err['msg']}"
    expect = err["msg"] if err["type"] == _REFUSED else err["msg"].lower()
    return f"{where}: '{key}' must be {expect}, got {err['input']!r}"


def config_from_mapping(data: Any, where: str = "config") -> Config:
    """A Config from a parsed TOML table; unknown keys and wrong types are errors naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    if "batch_ttl" in data:                  # the layout of batch mode's requests: its flag's, never a file's
        raise ConfigError(f"{where}: 'batch_ttl' is not a config key: batch mode takes it from --batch-ttl")
    try:
        return Config(**data)
    except ValidationError as e:
        raise ConfigError(_one_line(e.errors()[0], where)) from None


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: invalid TOML: {e}") from None


def config_from_files(read: Callable[[str], str | None], explicit: str | None = None, where: str = "") -> Config:
    """`explicit` (a path), else `.reviewbot.toml`, else `[tool.reviewbot]` of pyproject.toml, else the
    defaults; `read(path)` gives a file's text or None. The source is the caller's: the base commit
    locally, the contents API on GitHub, so that a change cannot rewrite the configuration it is
    reviewed with. `where` is added to error messages (e.g. " (base branch)")."""
    for path in [explicit] if explicit else [".reviewbot.toml", "pyproject.toml"]:
        text = read(path)
        if text is None:
            if explicit:
                raise ConfigError(f"config file {explicit} not found{where}")
            continue
        data = _parse(text, path + where)
        if path.rsplit("/", 1)[-1] == "pyproject.toml" and not explicit:
            table = data.get("tool", {}).get("reviewbot")
            if table is None:
                continue
            return config_from_mapping(table, f"{path} [tool.reviewbot]{where}")
        return config_from_mapping(data, path + where)
    return Config()


def load_config(repo_dir: Path, explicit: Path | None = None) -> Config:
    """`explicit` (a file the user names), else the config files of the working tree at repo_dir."""
    if explicit:
        try:
            text = Path(explicit).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {explicit}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file {explicit}: {e}") from None
        return config_from_mapping(_parse(text, Path(explicit).name), Path(explicit).name)

    def read(name: str) -> str | None:
        path = Path(repo_dir) / name
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except UnicodeDecodeError as e:
            raise ConfigError(f"{name}: not UTF-8 ({e})") from None
    return config_from_files(read)


# The default effort per agent, chosen by measurement (README, "Models, thinking and effort"). On the
# whole corpus against cachesim in one run (Sonnet 5.5, tiered routing; `reviewbot bench --no-naive
# --no-batch` against the same with --no-effort-policy), dollars per review against the model's uniform
# default effort (high): correctness and security at the default, the rest at low 0.69x; correctness at
# medium 0.65x; correctness at high and the rest at low 0.62x (the summary's share of the wall time
# 23%, against 33% with this table: README, "Reading the results"); both at medium 0.61x; correctness
# at medium and security at low (this table) 0.58x, with thinking tokens 115k -> 16k and output $ 1.38
# -> 0.40. Correctness keeps the most thinking: logic errors are most of what a review finds, and it
# runs only where code changed; security runs on every change and is backed by the deterministic secret
# and manipulation scanners. A review-wide `effort`, an agent's own `specialist_effort` or
# `summary_effort`, or `effort_policy = false` replaces it.
EFFORT_POLICY: tuple[tuple[str, str], ...] = (
    ("security", "low"), ("correctness", "medium"), ("performance", "low"), ("maintainability", "low"),
    ("documentation", "low"), ("release", "low"), ("rules", "low"), ("summary", "low"))


def check_models(config: Config) -> None:
    """Every model and effort the configuration names is one the model table knows (ConfigError,
    exit 2, before any call)."""
    from reviewbot.llm.models import check_effort, model_info
    model_info(config.model)
    if config.fallback_model:
        model_info(config.fallback_model)
    check_effort(config.model, config.effort)
    check_effort(config.model, config.summary_effort, "summary_effort")
    for name, level in config.specialist_effort:
        check_effort(config.model, level, f"specialist_effort.{name}")


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Command-line flags over the file's values; None means 'not given'. A refused value (an empty
    --model) is a ConfigError naming the flag."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return config
    try:
        return dataclasses.replace(config, **given)
    except ValidationError as e:
        err = e.errors()[0]
        flag = "--" + ".".join(str(x) for x in err["loc"]).replace("_", "-")
        raise ConfigError(_one_line(err, flag).replace(f"{flag}: '{err['loc'][0]}' ", f"{flag} ", 1)) from None
