"""Run configuration: one frozen value, read once at the entry point and passed down.

Defaults live here and nowhere else. Loading and validating `.reviewbot.toml` /
`[tool.reviewbot]` is the job of `load_config`; everything below the CLI receives a `Config`.
"""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatch
from pathlib import Path

from reviewbot.errors import ConfigError

DEFAULT_MODEL = "claude-sonnet-5-5"
EFFORTS = ("low", "medium", "high", "xhigh", "max")
WARMUP_STRATEGIES = ("leader", "prewarm", "none")
ROUTINGS = ("tiered", "all")
MODES = ("cached", "naive")
TTLS = ("5m", "1h")


@dataclass(frozen=True)
class Config:
    model: str = DEFAULT_MODEL
    specialists: tuple[str, ...] = ()          # empty: all of the registry
    routing: str = "tiered"                    # "tiered": fewer specialists for small changes; "all"
    mode: str = "cached"                       # "naive": no breakpoints, no warm-up (the baseline to beat)
    max_turns: int = 8                         # per agent, tool round-trips included
    max_output_tokens: int = 32_000            # per call, thinking included (thinking is billed as output)
    warmup: str = "leader"                     # how the cached prefix is written before the fan-out
    base_ttl: str = "5m"                       # TTL of the tools + system breakpoint ("1h" pays across PRs)
    max_retries: int = 4                       # SDK retries (backoff with jitter) for 408/409/429/5xx
    timeout_seconds: float = 600.0
    min_confidence: float = 0.5                # findings below are dropped before the summary
    max_patch_chars: int = 60_000              # a longer patch file is truncated, with a note
    preload_chars: int = 240_000               # patches pre-read into the shared prefix, at most this much
    max_files: int = 300                       # reviewable files routed to specialists; the rest are listed
    related_code_tokens: int = 6000            # ceiling of the related-code section (scales with the change); 0: off
    repository: bool = True                    # reviewers may read and search the repository at head and base
    budget_calls: int = 0                      # per review; 0: no limit. Checked before each call
    budget_tokens: int = 0
    budget_dollars: float = 0.0
    itpm_limit: int = 0                        # input tokens per minute to pace under; 0: no pacing
    cache_ttl_seconds: float = 300.0           # the provider's 5-minute TTL (cachesim --ttl-seconds)
    extra_instructions: tuple[tuple[str, str], ...] = field(default_factory=tuple)   # (specialist, text)
    summarise: tuple[str, ...] = ("lockfile", "generated")   # kinds listed, not reviewed line by line
    include: tuple[str, ...] = ()              # path globs to review (empty: everything)
    exclude: tuple[str, ...] = ()              # path globs never reviewed (listed, not routed)
    path_instructions: tuple[tuple[str, str], ...] = ()   # (glob, text): sent with the files it names
    inline_min_severity: str = "nit"           # findings below go in the review body, not inline
    max_inline_comments: int = 25              # the rest go in the review body
    effort: str | None = None                  # the review's effort (None: the model's default)
    specialist_effort: tuple[tuple[str, str], ...] = ()   # (specialist, level): per-message effort
    summary_effort: str | None = None          # the summary agent's own effort
    effort_policy: bool = True                 # EFFORT_POLICY for agents with no effort of their own
    fallback_model: str | None = None          # a refused call is retried once on this model
    stall_seconds: float = 90.0                # no byte / no event for this long: the call is retried
    deadline_seconds: float = 900.0            # the whole review; then a labelled partial review (exit 5)
    # where the model runs (reviewbot.llm.providers); credentials are never configured, only found
    provider: str = "anthropic"
    aws_region: str = ""
    aws_profile: str = ""
    aws_workspace_id: str = ""
    bedrock_inference_profile: str = ""
    vertex_region: str = ""
    vertex_project_id: str = ""
    google_cloud_project: str = ""
    google_cloud_location: str = ""
    google_cloud_workspace_id: str = ""
    foundry_resource: str = ""
    delete_fixed_comments: bool = False        # on GitHub: delete the bot's unanswered comments once fixed

    def excluded(self, path: str) -> bool:
        """Left out by `exclude`, or not matched by a non-empty `include`."""
        return any(fnmatch(path, g) for g in self.exclude) or bool(self.include) and not any(
            fnmatch(path, g) for g in self.include)

    def effort_for(self, agent: str) -> str | None:
        """The agent's own effort (the summary's is summary_effort), else, when the review runs at the
        model's default effort, EFFORT_POLICY's level (unless effort_policy is off), else None: the
        review's. A level the model lacks, or a model without per-message effort, is then ignored
        when the request is built (specialists.requests.effort_message)."""
        from reviewbot.domain.specialists import SUMMARY
        own = self.summary_effort if agent == SUMMARY else dict(self.specialist_effort).get(agent)
        if own is None and self.effort_policy and self.effort is None:
            return dict(EFFORT_POLICY).get(agent)
        return own

    def instructions_for(self, specialist: str) -> str:
        return "\n".join(text for name, text in self.extra_instructions if name == specialist)


_SCALARS = {f.name: f.type for f in fields(Config)}


def _validate(key: str, value, where: str):
    def bad(expect):
        return ConfigError(f"{where}: '{key}' must be {expect}, got {value!r}")

    if key in ("model", "fallback_model"):
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value.strip()
    if key in ("effort", "summary_effort"):
        if value not in EFFORTS:
            raise bad("one of " + ", ".join(EFFORTS))
        return value
    if key == "specialist_effort":
        from reviewbot.domain.specialists import NAMES
        if not isinstance(value, dict) or not all(v in EFFORTS for v in value.values()):
            raise bad("a table of specialist name = one of " + ", ".join(EFFORTS))
        unknown = [k for k in value if k not in NAMES]
        if unknown:
            raise ConfigError(f"{where}: unknown specialist {unknown[0]!r} in 'specialist_effort'")
        return tuple(sorted(value.items()))
    if key in ("stall_seconds", "deadline_seconds"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise bad("a positive number")
        return float(value)
    zero_ok = ("max_retries", "preload_chars", "budget_calls", "budget_tokens", "itpm_limit", "related_code_tokens")
    if key in ("max_turns", "max_output_tokens", "max_patch_chars", "max_files", "max_inline_comments") + zero_ok:
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key in zero_ok else 1):
            raise bad("a non-negative integer" if key in zero_ok else "a positive integer")
        return value
    if key in ("timeout_seconds", "min_confidence", "budget_dollars", "cache_ttl_seconds"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise bad("a non-negative number")
        if key == "min_confidence" and value > 1:
            raise bad("a number from 0 to 1")
        return float(value)
    if key in ("repository", "effort_policy"):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "warmup":
        if value not in WARMUP_STRATEGIES:
            raise bad("one of " + ", ".join(WARMUP_STRATEGIES))
        return value
    if key in ("routing", "mode"):
        allowed = ROUTINGS if key == "routing" else MODES
        if value not in allowed:
            raise bad("one of " + ", ".join(allowed))
        return value
    if key == "base_ttl":
        if value not in TTLS:
            raise bad("one of " + ", ".join(TTLS))
        return value
    if key == "specialists":
        from reviewbot.domain.specialists import NAMES
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of specialist names")
        unknown = [v for v in value if v not in NAMES]
        if unknown:
            raise ConfigError(f"{where}: unknown specialist {unknown[0]!r} in 'specialists' (known: {', '.join(NAMES)})")
        return tuple(dict.fromkeys(value))
    if key == "extra_instructions":
        from reviewbot.domain.specialists import NAMES
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad("a table of specialist name = \"text\"")
        unknown = [k for k in value if k not in NAMES]
        if unknown:
            raise ConfigError(f"{where}: unknown specialist {unknown[0]!r} in 'extra_instructions'")
        return tuple(sorted(value.items()))
    if key == "summarise":
        kinds = ("lockfile", "generated")
        if not isinstance(value, list) or not all(v in kinds for v in value):
            raise bad(f"a list of file kinds from {', '.join(kinds)} (binary files are always summarised)")
        return tuple(value)
    if key in ("include", "exclude"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad("a list of path globs")
        return tuple(value)
    if key == "path_instructions":
        ok = isinstance(value, list) and all(isinstance(v, dict) and set(v) == {"path", "instructions"}
                                             and all(isinstance(x, str) and x for x in v.values()) for v in value)
        if not ok:
            raise bad('a list of tables with "path" (a glob) and "instructions"')
        return tuple((v["path"], v["instructions"]) for v in value)
    if key == "delete_fixed_comments":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "inline_min_severity":
        from reviewbot.agents.tools import SEVERITIES
        if value not in SEVERITIES:
            raise bad("one of " + ", ".join(SEVERITIES))
        return value
    from reviewbot.llm import providers
    if key == "provider" or key in providers.SETTINGS:
        return providers.validate_setting(key, value, where)
    raise ConfigError(f"{where}: unknown key '{key}'")


def config_from_mapping(data: dict, where: str = "config") -> Config:
    """A Config from a parsed TOML table; unknown keys and wrong types are errors naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    return Config(**{key: _validate(key, value, where) for key, value in data.items()})


def _parse(text: str, where: str) -> dict:
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


# The default effort per agent, chosen by measurement (README, "Models, thinking and effort"): on the
# corpus against cachesim, these levels cost 0.70x the dollars (0.48x the output) of the same reviews at the model's
# uniform default effort (high on Sonnet 5.5). Security and correctness keep the model's default.
EFFORT_POLICY: tuple[tuple[str, str], ...] = (
    ("performance", "medium"), ("maintainability", "low"), ("documentation", "low"), ("release", "low"),
    ("rules", "low"), ("summary", "low"))


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


def with_overrides(config: Config, **overrides) -> Config:
    """Command-line flags over the file's values; None means 'not given'."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(config, **given) if given else config
