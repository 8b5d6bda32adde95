"""The platforms reviewbot runs on: the Claude API, or the cloud a company already pays for.

This module owns the `provider` setting and everything that differs between platforms, as data:
which SDK client to build (always the installed anthropic SDK's own async client class, with its
usual credential chain), which settings each platform reads, the model ids each one offers, its
price rule, the minimum cacheable length it publishes, and the features it lacks (count_tokens,
Message Batches, top-level cache_control). Everything here is pure except `build_client` (which
constructs an SDK client; constructors do no I/O) and `check_credentials` (which asks the cloud
SDK's default chain, once, at the entry point, so that a missing credential is one line before any
call).

No credential is read from a flag, a config file or an Action input: each client finds its own
(ANTHROPIC_API_KEY; the AWS chain of boto3 or a Bedrock/AWS API key from the environment; Google
Application Default Credentials; an Azure token from azure-identity or ANTHROPIC_FOUNDRY_API_KEY).
Error messages name variables, never their values.

Sources (read on 2026-12-01; these pages change monthly):
- Claude Platform on AWS: https://platform.claude.com/docs/en/build-with-claude/claude-platform-on-aws
  and https://docs.aws.amazon.com/claude-platform/latest/userguide/models.html ("Model IDs on Claude
  Platform on AWS are identical to those used on the first-party Claude API ... no anthropic.
  prefixes"); a workspace id is required (anthropic-workspace-id).
- Claude in Amazon Bedrock (Messages API, bedrock-mantle):
  https://platform.claude.com/docs/en/build-with-claude/claude-in-amazon-bedrock (models open to all
  Bedrock customers: Fable 5.1, Fable 5, Opus 4.8, Sonnet 5, Opus 4.7, Haiku 4.5) and
  https://docs.aws.amazon.com/bedrock/latest/userguide/inference-messages-api.html (base URL
  https://bedrock-mantle.{region}.api.aws/anthropic).
- Claude on Amazon Bedrock (legacy, InvokeModel):
  https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy (the ARN-
  versioned model table with its global/us/eu/jp/apac columns; Opus 4.7 and later have no ARN-
  versioned id; the SDK's default API version 2026-10-21 is refused by those models, boto3's body
  `anthropic_version: bedrock-2023-05-31` is not; "Global vs regional endpoints").
- Vertex AI: https://platform.claude.com/docs/en/build-with-claude/claude-on-vertex-ai (model ids,
  "Global vs regional endpoints": from Sonnet 4.5 on, the global endpoint has no price premium,
  regional endpoints do; older models keep their pricing).
- Microsoft Foundry: https://platform.claude.com/docs/en/build-with-claude/claude-in-microsoft-foundry
  and https://learn.microsoft.com/azure/foundry/foundry-models/how-to/use-foundry-models-claude
  (the models listed there; `model` is the deployment name, by default the model id).
- Bedrock prompt caching minimums: https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
- Pricing: https://platform.claude.com/docs/en/about-claude/pricing
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from reviewbot.errors import ConfigError

if TYPE_CHECKING:
    from reviewbot.llm.models import Price


class Configured(Protocol):
    """What resolve and apply read of a run's configuration (reviewbot.config.Config; not imported:
    config validates its platform settings with this module's tables)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...


C = TypeVar("C", bound=Configured)

DEFAULT_PROVIDER = "anthropic"
REGIONAL_PREMIUM = 1.10            # regional endpoints vs global, Sonnet 4.5 and later (Bedrock legacy, Vertex)
BEDROCK_INVOKE_VERSION = "bedrock-2023-05-31"
FOUNDRY_TOKEN_SCOPE = "https://ai.azure.com/.default"   # the scope the SDK's Foundry guide uses
CHARS_PER_TOKEN = 4                # the dry run's local estimate where a platform cannot count tokens


@dataclass(frozen=True)
class Setting:
    """A platform setting: the config key (flag --key-with-dashes, Action input key-with-dashes),
    the SDK constructor argument it fills and the environment variable the SDK falls back to."""

    key: str
    arg: str
    env: str
    help: str
    choices: tuple[str, ...] = ()


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("aws_region", "aws_region", "AWS_REGION", "AWS region (aws, bedrock, bedrock-legacy)"),
    Setting("aws_profile", "aws_profile", "AWS_PROFILE", "AWS shared-config profile name (aws, bedrock, "
            "bedrock-legacy); the profile's credentials stay in ~/.aws"),
    Setting("aws_workspace_id", "workspace_id", "ANTHROPIC_AWS_WORKSPACE_ID", "Claude Platform on AWS workspace id"),
    Setting("bedrock_inference_profile", "", "", "bedrock-legacy: the cross-Region inference profile the model id "
            "is prefixed with (global, us, eu, jp, apac) or none for the region itself; default global",
            ("global", "us", "eu", "jp", "apac", "none")),
    Setting("vertex_region", "region", "CLOUD_ML_REGION", "Vertex AI region: global, us, eu or a region such as "
            "us-east5"),
    Setting("vertex_project_id", "project_id", "ANTHROPIC_VERTEX_PROJECT_ID", "Google Cloud project of Vertex AI "
            "(default: the one of the Application Default Credentials)"),
    Setting("google_cloud_project", "project", "ANTHROPIC_GOOGLE_CLOUD_PROJECT", "Google Cloud project of Claude "
            "on Google Cloud (Anthropic-managed)"),
    Setting("google_cloud_location", "location", "ANTHROPIC_GOOGLE_CLOUD_LOCATION", "its location (default global)"),
    Setting("google_cloud_workspace_id", "workspace_id", "ANTHROPIC_GOOGLE_CLOUD_WORKSPACE_ID",
            "its Anthropic workspace id"),
    Setting("foundry_resource", "resource", "ANTHROPIC_FOUNDRY_RESOURCE", "Microsoft Foundry resource name "
            "(https://NAME.services.ai.azure.com/anthropic/)"),
)}


@dataclass(frozen=True)
class Platform:
    name: str                           # the `provider` value
    title: str
    sdk_class: str                      # the anthropic SDK's async client class
    settings: tuple[str, ...]           # keys of SETTINGS this platform reads
    required: tuple[str, ...]           # settings it cannot do without (config, flag or the SDK's variable)
    credentials: str                    # where the client finds its credentials (one line, for errors and docs)
    extra: str | None                   # `pip install 'reviewbot[EXTRA]'` for the credential chain's library
    count_tokens: bool                  # has the free count_tokens endpoint (else the dry run estimates)
    batches: bool                       # has the Message Batches API
    top_level_cache_control: bool       # accepts request-level `cache_control` (reviewbot uses block level only)
    cache_isolation: str                # "workspace" or "organization": who shares a cached prefix
    docs: str


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("anthropic", "Claude API", "AsyncAnthropic", (), (), "ANTHROPIC_API_KEY", None,
             True, True, True, "workspace", "https://platform.claude.com/docs/en/api/overview"),
    Platform("aws", "Claude Platform on AWS", "AsyncAnthropicAWS",
             ("aws_region", "aws_profile", "aws_workspace_id"), ("aws_region", "aws_workspace_id"),
             "the AWS default credential chain (SigV4), or ANTHROPIC_AWS_API_KEY", "aws",
             True, True, True, "workspace",
             "https://platform.claude.com/docs/en/build-with-claude/claude-platform-on-aws"),
    Platform("bedrock", "Claude in Amazon Bedrock", "AsyncAnthropicBedrockMantle",
             ("aws_region", "aws_profile"), ("aws_region",),
             "the AWS default credential chain (SigV4), or AWS_BEARER_TOKEN_BEDROCK", "bedrock",
             True, False, True, "organization",
             "https://platform.claude.com/docs/en/build-with-claude/claude-in-amazon-bedrock"),
    Platform("bedrock-legacy", "Claude on Amazon Bedrock (legacy InvokeModel)", "AsyncAnthropicBedrock",
             ("aws_region", "aws_profile", "bedrock_inference_profile"), ("aws_region",),
             "the AWS default credential chain (SigV4), or AWS_BEARER_TOKEN_BEDROCK", "bedrock",
             False, False, False, "organization",
             "https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy"),
    Platform("vertex", "Vertex AI (Google-managed)", "AsyncAnthropicVertex",
             ("vertex_region", "vertex_project_id"), ("vertex_region",),
             "Google Application Default Credentials", "vertex",
             True, False, True, "organization",
             "https://platform.claude.com/docs/en/build-with-claude/claude-on-vertex-ai"),
    Platform("google-cloud", "Claude on Google Cloud (Anthropic-managed)", "AsyncAnthropicGoogleCloud",
             ("google_cloud_project", "google_cloud_location", "google_cloud_workspace_id"),
             ("google_cloud_workspace_id",),
             "Google Application Default Credentials", "google-cloud",
             True, True, True, "workspace",
             "https://platform.claude.com/docs/en/build-with-claude/claude-on-vertex-ai"),
    Platform("foundry", "Microsoft Foundry", "AsyncAnthropicFoundry",
             ("foundry_resource",), ("foundry_resource",),
             "ANTHROPIC_FOUNDRY_API_KEY, else Microsoft Entra ID through azure-identity", "foundry",
             True, False, True, "workspace",
             "https://platform.claude.com/docs/en/build-with-claude/claude-in-microsoft-foundry"),
)}
PROVIDERS = tuple(PLATFORMS)

# --- model ids -------------------------------------------------------------------------------------
# Keyed by the Anthropic model id reviewbot is configured with. None for a platform: every id of the
# Claude API is offered under the same name (the model table decides what is known).
SAME_AS_API = None

# Claude in Amazon Bedrock (bedrock-mantle): the models open to all Bedrock customers, plus Mythos
# Preview (gated). Ids are the API id with the `anthropic.` prefix; the region is the endpoint's.
_MANTLE = ("claude-fable-5-1", "claude-fable-5", "claude-opus-4-8", "claude-sonnet-5", "claude-opus-4-7",
           "claude-haiku-4-5", "claude-mythos-preview")

# Bedrock legacy (InvokeModel): base ARN-versioned id and the inference profiles that exist for it.
_LEGACY: dict[str, tuple[str, tuple[str, ...]]] = {
    "claude-opus-4-6": ("anthropic.claude-opus-4-6-v1", ("global", "us", "eu", "jp", "apac")),
    "claude-sonnet-4-6": ("anthropic.claude-sonnet-4-6", ("global", "us", "eu", "jp")),
    "claude-sonnet-4-5": ("anthropic.claude-sonnet-4-5-20250929-v1:0", ("global", "us", "eu", "jp")),
    "claude-opus-4-5": ("anthropic.claude-opus-4-5-20251101-v1:0", ("global", "us", "eu")),
    "claude-haiku-4-5": ("anthropic.claude-haiku-4-5-20251001-v1:0", ("global", "us", "eu")),
}

# Vertex AI (Google-managed): the Vertex model id. From Opus 4.6 on it is the API id.
_VERTEX = {
    "claude-opus-4-8": "claude-opus-4-8",
    "claude-opus-4-7": "claude-opus-4-7",
    "claude-opus-4-6": "claude-opus-4-6",
    "claude-sonnet-4-6": "claude-sonnet-4-6",
    "claude-sonnet-4-5": "claude-sonnet-4-5@20250929",
    "claude-opus-4-5": "claude-opus-4-5@20251101",
    "claude-haiku-4-5": "claude-haiku-4-5@20251001",
}

# Microsoft Foundry: the models Anthropic's and Microsoft's Foundry pages list (deployment = model id).
_FOUNDRY = ("claude-fable-5-2", "claude-fable-5-1", "claude-opus-5-5", "claude-opus-5", "claude-opus-4-8",
            "claude-sonnet-5-5", "claude-sonnet-5", "claude-haiku-5-5", "claude-mythos-preview",
            "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-sonnet-4-6", "claude-sonnet-4-5",
            "claude-haiku-4-5")

# Dated API ids reviewbot accepts for the 4.5 models (the API answers with them).
_DATED = {"claude-opus-4-5-20251101": "claude-opus-4-5", "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
          "claude-haiku-4-5-20251001": "claude-haiku-4-5"}

# Minimum cacheable prompt lengths a platform publishes itself (tokens), where it does; elsewhere
# the model table's first-party minimum applies. Bedrock's prompt-caching page: Claude Sonnet
# 1,024, Claude Haiku 4,096.
_MIN_CACHEABLE: dict[str, dict[str, int]] = {
    "bedrock-legacy": {"claude-sonnet-4-6": 1024, "claude-sonnet-4-5": 1024, "claude-haiku-4-5": 4096},
}


def _offered(provider: str) -> tuple[str, ...] | None:
    return {"bedrock": _MANTLE, "bedrock-legacy": tuple(_LEGACY), "vertex": tuple(_VERTEX),
            "foundry": _FOUNDRY}.get(provider, SAME_AS_API)


def _api_id(model: str) -> str:
    return _DATED.get(model, model)


def platform_model_id(provider: str, model: str, inference_profile: str = "global") -> str:
    """The id `provider` knows `model` (an Anthropic API id) by; ConfigError when it does not offer it."""
    platform = platform_of(provider)
    offered = _offered(provider)
    if offered is None:
        return model
    key = canonical_model(model)                  # the platform's own id is accepted too
    if provider == "bedrock-legacy" and key in _LEGACY and model.endswith(_LEGACY[key][0]):
        inference_profile = model[:-len(_LEGACY[key][0])].rstrip(".") or "none"
    if key not in offered:
        hint = " (Opus 4.7 and later are on provider 'bedrock')" if provider == "bedrock-legacy" else ""
        raise ConfigError(f"{platform.title} does not offer model '{model}'{hint}: "
                          f"available: {', '.join(offered)}")
    if provider == "bedrock":
        return f"anthropic.{key}"
    if provider == "vertex":
        return _VERTEX[key]
    if provider == "bedrock-legacy":
        base, profiles = _LEGACY[key]
        if inference_profile == "none":
            return base
        if inference_profile not in profiles:
            raise ConfigError(f"{platform.title}: model '{model}' has no '{inference_profile}' inference profile "
                              f"(it has: {', '.join(profiles)}, or none)")
        return f"{inference_profile}.{base}"
    return key        # foundry: the deployment named after the model


def canonical_model(model_id: str) -> str:
    """The Anthropic API id of any id this module produces (the key into the model/price table):
    `us.anthropic.claude-sonnet-4-5-20250929-v1:0` and `claude-sonnet-4-5@20250929` are
    `claude-sonnet-4-5`; an id it does not know is returned unchanged."""
    for key, (base, _) in _LEGACY.items():
        if model_id == base or model_id.endswith("." + base):
            return key
    for key, vid in _VERTEX.items():
        if model_id == vid:
            return key
    if model_id.startswith("anthropic."):
        return _api_id(model_id[len("anthropic."):])
    return _api_id(model_id)


# --- the resolved target ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where this run's requests go: the platform, the model id it is sent as, and the settings
    (config/flag value, else the SDK's environment variable) that decide the client and the price."""

    platform: Platform
    model: str                                  # the id sent in requests
    api_model: str                              # the Anthropic API id (model/price table key)
    settings: tuple[tuple[str, str], ...]       # (key, value) of the platform's settings that are set

    def get(self, key: str) -> str | None:
        return dict(self.settings).get(key)

    @property
    def regional(self) -> bool:
        """Requests go to a regional (not global) endpoint, which the platform prices higher."""
        if self.platform.name == "bedrock-legacy":
            return not self.model.startswith("global.")
        if self.platform.name == "vertex":
            return (self.get("vertex_region") or "global") != "global"
        return False


DIRECT = Target(PLATFORMS["anthropic"], "", "", ())      # the Claude API, for callers without a config


def platform_of(provider: str) -> Platform:
    try:
        return PLATFORMS[provider]
    except KeyError:
        raise ConfigError(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})") from None


def resolve(config: Configured, env: Mapping[str, str]) -> Target:
    """The run's target, from the config (flags already applied) and the environment. Pure: `env`
    is passed in. A model the platform does not offer or a missing setting is a ConfigError (exit 2),
    before any client exists."""
    platform = platform_of(config.provider)
    values: dict[str, str] = {}
    for key in platform.settings:
        setting = SETTINGS[key]
        value = getattr(config, key, "") or (env.get(setting.env, "") if setting.env else "")
        if key == "aws_region" and not value:
            value = env.get("AWS_DEFAULT_REGION", "")
        if key == "google_cloud_project" and not value:
            value = env.get("GOOGLE_CLOUD_PROJECT", "")
        if value:
            values[key] = value.strip()
    missing = [k for k in platform.required if k not in values]
    if platform.name == "bedrock-legacy" and "aws_region" in missing and "aws_profile" in values:
        missing.remove("aws_region")          # the SDK takes the region of the profile
    if platform.name == "aws" and "aws_region" in missing and env.get("ANTHROPIC_AWS_BASE_URL"):
        missing.remove("aws_region")
    if platform.name == "foundry" and missing and env.get("ANTHROPIC_FOUNDRY_BASE_URL"):
        missing = []
    if missing:
        key = missing[0]
        raise ConfigError(f"provider '{platform.name}' needs '{key}': set it in the config, pass "
                          f"--{key.replace('_', '-')}, or set {SETTINGS[key].env}")
    model = platform_model_id(platform.name, config.model, values.get("bedrock_inference_profile", "global"))
    return Target(platform, model, canonical_model(model), tuple(sorted(values.items())))


def apply(config: C, target: Target) -> C:
    """The config the pipeline runs with: the Claude API id of the model (the model table's key).
    The transport swaps in the platform's id when it sends (llm.anthropic_transport.AnthropicTransport._wire)."""
    return replace(config, model=target.api_model)


# --- features a platform lacks ---------------------------------------------------------------------

def require_batches(target: Target) -> None:
    """Batch mode's gate: one line when the platform has no Message Batches API."""
    if not target.platform.batches:
        raise ConfigError(f"batch mode is not available on {target.platform.title} (provider "
                          f"'{target.platform.name}' has no Message Batches API): use provider "
                          "'anthropic', 'aws' or 'google-cloud', or review without batch mode")


def check_request(target: Target, request: dict[str, Any]) -> None:
    """A request the platform would refuse because of its shape (legacy Bedrock: no top-level
    cache_control; reviewbot's builders place breakpoints on blocks only). The clients build_client
    makes run this on every Messages request before it is sent."""
    _check_shape(target.platform, request)


def _check_shape(platform: Platform, request: dict[str, Any]) -> None:
    if "cache_control" in request and not platform.top_level_cache_control:
        raise ConfigError(f"{platform.title} does not accept a top-level cache_control: "
                          "put cache breakpoints on content blocks")


def estimate_tokens(request: dict[str, Any], fields: tuple[str, ...]) -> int:
    """The dry run's estimate where the platform cannot count (legacy Bedrock): the counted fields
    of the request as sent, at CHARS_PER_TOKEN characters per token."""
    text = json.dumps({k: request[k] for k in fields if k in request and k != "model"}, ensure_ascii=False,
                      separators=(",", ":"))
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def min_cacheable_tokens(target: Target) -> int | None:
    """The minimum cacheable length the platform publishes for this model, if it publishes one."""
    return _MIN_CACHEABLE.get(target.platform.name, {}).get(target.api_model)


# --- prices ----------------------------------------------------------------------------------------

def price_factor(target: Target) -> float:
    """What the platform charges relative to the Claude API price of the same model: regional
    endpoints of Bedrock (legacy inference profiles other than global, and in-region ids) and Vertex
    AI cost REGIONAL_PREMIUM times the global price for Sonnet 4.5 and later models (every model of
    their tables here). Elsewhere 1.0: the platforms bill the Claude API's prices."""
    return REGIONAL_PREMIUM if target.regional else 1.0


def platform_price(base: Price, target: Target) -> Price:
    """`base` (the model table's price of target.api_model) as this platform bills it."""
    f = price_factor(target)
    if f == 1.0:
        return base
    return replace(base, **{k: round(getattr(base, k) * f, 6)
                            for k in ("input", "write_5m", "write_1h", "read", "output")})


# --- clients ---------------------------------------------------------------------------------------

@functools.cache
def _azure_token_provider() -> Callable[[], str]:
    """An Entra ID token provider from azure-identity's default chain (environment, workload
    identity, managed identity, `az login` as azure/login leaves it)."""
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError:
        raise ConfigError("provider 'foundry' without ANTHROPIC_FOUNDRY_API_KEY needs azure-identity: "
                          "pip install 'reviewbot[foundry]'") from None
    provider: Callable[[], str] = get_bearer_token_provider(DefaultAzureCredential(), FOUNDRY_TOKEN_SCOPE)
    return provider


def build_client(target: Target, *, api_key: str | None, max_retries: int, timeout: Any,
                 http_client: Any = None, base_url: str | None = None, env: Mapping[str, str] = os.environ) -> Any:
    """The SDK's own async client for the target. Credentials come from the client's own chain;
    `api_key` is the Claude API key (provider anthropic only). `base_url` overrides the platform's
    URL (tests, proxies); otherwise the SDK derives it from the settings or its own variable."""
    import anthropic

    common: dict[str, Any] = {"max_retries": max_retries, "timeout": timeout, "http_client": http_client}
    if base_url:
        common["base_url"] = base_url
    name = target.platform.name
    args: dict[str, Any] = {SETTINGS[k].arg: v for k, v in target.settings if SETTINGS[k].arg}
    if name == "foundry" and (base_url or env.get("ANTHROPIC_FOUNDRY_BASE_URL")):
        args.pop("resource", None)          # the SDK takes one of the two
    try:
        if name == "anthropic":
            return anthropic.AsyncAnthropic(api_key=api_key, **common)
        if name == "aws":
            return _guarded(anthropic.AsyncAnthropicAWS, target.platform)(**args, **common)
        if name == "bedrock":
            return _guarded(anthropic.AsyncAnthropicBedrockMantle, target.platform)(**args, **common)
        if name == "bedrock-legacy":
            return _guarded(_legacy_bedrock_class(), target.platform)(**args, **common)
        if name == "vertex":
            return _guarded(anthropic.AsyncAnthropicVertex, target.platform)(**args, **common)
        if name == "google-cloud":
            return _guarded(anthropic.AsyncAnthropicGoogleCloud, target.platform)(**args, **common)
        if name == "foundry":
            if env.get("ANTHROPIC_FOUNDRY_API_KEY"):
                return _guarded(anthropic.AsyncAnthropicFoundry, target.platform)(**args, **common)
            return _guarded(anthropic.AsyncAnthropicFoundry, target.platform)(
                azure_ad_token_provider=_azure_token_provider(), **args, **common)
    except (anthropic.AnthropicError, ValueError) as e:
        raise ConfigError(f"{target.platform.title}: {str(e).splitlines()[0]}") from None
    raise ConfigError(f"unknown provider '{name}'")


def _chain_errors() -> tuple[type[BaseException], ...]:
    """What a cloud credential chain raises when it finds nothing or cannot refresh (the AWS signer's
    RuntimeError "Could not resolve AWS credentials", botocore, google-auth, azure-identity)."""
    errors: list[type[BaseException]] = [RuntimeError]
    try:
        import botocore.exceptions
        errors.append(botocore.exceptions.BotoCoreError)
    except ImportError:
        pass
    try:
        import google.auth.exceptions
        errors.append(google.auth.exceptions.GoogleAuthError)
    except ImportError:
        pass
    try:
        import azure.core.exceptions
        errors.append(azure.core.exceptions.ClientAuthenticationError)
    except ImportError:
        pass
    return tuple(errors)


@functools.cache
def _guarded(cls: Any, platform: Platform) -> Any:
    """`cls` whose credential chain failing while a request is prepared (expired role, revoked ADC)
    is reviewbot's CredentialsError, one line naming the platform and the error type, never its
    text (which may quote a credential), instead of a traceback; and which refuses, before
    sending, a request shape the platform does not take (check_request)."""
    from reviewbot.errors import CredentialsError

    def fail(e: BaseException) -> CredentialsError:
        return CredentialsError(f"{platform.title}: the credential chain failed ({type(e).__name__}); check the "
                                "credentials step or login")

    class Guarded(cls):  # type: ignore[misc]   # the platform's SDK client class
        async def _prepare_options(self, options: Any) -> Any:
            if isinstance(options.json_data, dict) and options.url.startswith("/v1/messages"):
                _check_shape(platform, options.json_data)
            try:
                return await super()._prepare_options(options)
            except _chain_errors() as e:
                raise fail(e) from None

        async def _prepare_request(self, request: Any) -> Any:
            try:
                return await super()._prepare_request(request)
            except _chain_errors() as e:
                raise fail(e) from None

    Guarded.__name__ = Guarded.__qualname__ = "Guarded" + cls.__name__
    return Guarded


@functools.cache
def _legacy_bedrock_class() -> Any:
    import anthropic

    class LegacyBedrock(anthropic.AsyncAnthropicBedrock):
        """AsyncAnthropicBedrock with the InvokeModel body version boto3 sends: the SDK's default
        (its Messages API version) is refused by the ARN-versioned models (see the module sources)."""

        async def _prepare_options(self, options: Any) -> Any:
            if isinstance(options.json_data, dict) and "anthropic_version" not in options.json_data:
                options = options.model_copy(update={"json_data": {**options.json_data,
                                                                    "anthropic_version": BEDROCK_INVOKE_VERSION}})
            return await super()._prepare_options(options)

    return LegacyBedrock


def check_credentials(target: Target | str, env: Mapping[str, str], aws_profile: str | None = None) -> None:
    """At the entry point, before any call: the platform's credential chain finds something, or one
    line says where it looks. Never prints a credential. `target` may be a provider name alone
    (`reviewbot github` checks before it reads the config from the base branch)."""
    if isinstance(target, str):
        target = Target(platform_of(target), "", "", (("aws_profile", aws_profile),) if aws_profile else ())
    name = target.platform.name
    if name == "anthropic":
        if not env.get("ANTHROPIC_API_KEY", "").strip():
            raise ConfigError("ANTHROPIC_API_KEY is not set")
        return
    if name in ("aws", "bedrock", "bedrock-legacy"):
        key_vars = ("ANTHROPIC_AWS_API_KEY",) if name == "aws" else ("AWS_BEARER_TOKEN_BEDROCK",) + (
            ("ANTHROPIC_AWS_API_KEY",) if name == "bedrock" else ())
        if any(env.get(v) for v in key_vars) and not target.get("aws_profile"):
            return
        try:
            import boto3
        except ImportError:
            raise ConfigError(f"provider '{name}' signs requests with AWS credentials and needs boto3: "
                              f"pip install 'reviewbot[{target.platform.extra}]'") from None
        import botocore.exceptions
        try:
            found = boto3.Session(profile_name=target.get("aws_profile"),
                                  region_name=target.get("aws_region")).get_credentials()
        except botocore.exceptions.BotoCoreError as e:
            raise ConfigError(f"AWS credentials: {type(e).__name__}") from None
        if found is None:
            raise ConfigError(f"no AWS credentials found for provider '{name}': the default chain (environment, "
                              f"profile, web identity/OIDC role, instance role) is empty; in GitHub Actions run "
                              f"aws-actions/configure-aws-credentials first, or set {' or '.join(key_vars)}")
        return
    if name in ("vertex", "google-cloud"):
        try:
            import google.auth
            import google.auth.exceptions
        except ImportError:
            raise ConfigError(f"provider '{name}' needs google-auth: pip install "
                              f"'reviewbot[{target.platform.extra}]'") from None
        try:
            google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except google.auth.exceptions.DefaultCredentialsError:
            raise ConfigError(f"no Google Application Default Credentials for provider '{name}': run "
                              "`gcloud auth application-default login`, or in GitHub Actions "
                              "google-github-actions/auth first") from None
        return
    if name == "foundry":
        if env.get("ANTHROPIC_FOUNDRY_API_KEY"):
            return
        try:
            _azure_token_provider()()                # one token now, so that an empty chain is one line here
        except _chain_errors() as e:
            raise ConfigError(f"no Microsoft Entra ID credentials for provider 'foundry' ({type(e).__name__}): "
                              "run `az login`, or in GitHub Actions azure/login first, or set "
                              "ANTHROPIC_FOUNDRY_API_KEY") from None


# --- command line ----------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--provider and the platform settings (never a credential: those come from the environment)."""
    group = parser.add_argument_group(
        "platform", "where the model runs (README, \"Providers\"); credentials come from the platform's own "
                    "chain in the environment, never from a flag")
    group.add_argument("--provider", choices=PROVIDERS,
                       help="anthropic (default), aws (Claude Platform on AWS), bedrock (Claude in Amazon "
                            "Bedrock), bedrock-legacy (Bedrock InvokeModel), vertex (Vertex AI), google-cloud "
                            "(Claude on Google Cloud, Anthropic-managed), foundry (Microsoft Foundry)")
    for s in SETTINGS.values():
        group.add_argument("--" + s.key.replace("_", "-"), dest=s.key, metavar="VALUE",
                           choices=s.choices or None, help=s.help + (f" (default: ${s.env})" if s.env else ""))


def overrides(args: argparse.Namespace) -> dict[str, str | None]:
    """The flags of add_arguments, for config.with_overrides."""
    return {"provider": getattr(args, "provider", None), **{k: getattr(args, k, None) for k in SETTINGS}}
