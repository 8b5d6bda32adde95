"""Providers: every platform's own SDK client sends the direct API's request body to its own URL,
with credentials from its own chain that never show in an error; what a platform lacks refuses in
one line. No network: each client's transport is an httpx2.MockTransport that records the request
and answers as the platform does (SSE, or AWS event-stream for legacy Bedrock's InvokeModel).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import struct
import uuid
from pathlib import Path

import httpx2
import pytest
from corpus import clone
from helpers import run_cli as _cli

from reviewbot.agents.requests import Prefix, build_prewarm, build_request
from reviewbot.cli import main
from reviewbot.config import Config, config_from_mapping
from reviewbot.errors import APIError, ConfigError, CredentialsError
from reviewbot.llm import providers
from reviewbot.llm.anthropic_transport import AnthropicTransport
from reviewbot.llm.usage import Price, price_of

MODEL = "claude-haiku-4-5"          # offered on every platform

ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_AWS_API_KEY",
            "ANTHROPIC_AWS_WORKSPACE_ID", "ANTHROPIC_AWS_BASE_URL", "AWS_BEARER_TOKEN_BEDROCK",
            "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_BEDROCK_MANTLE_BASE_URL", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID",
            "ANTHROPIC_VERTEX_BASE_URL", "ANTHROPIC_GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT",
            "ANTHROPIC_GOOGLE_CLOUD_LOCATION", "ANTHROPIC_GOOGLE_CLOUD_WORKSPACE_ID", "ANTHROPIC_GOOGLE_CLOUD_BASE_URL",
            "GOOGLE_APPLICATION_CREDENTIALS", "ANTHROPIC_FOUNDRY_API_KEY", "ANTHROPIC_FOUNDRY_RESOURCE",
            "ANTHROPIC_FOUNDRY_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS")


def secret(kind: str) -> str:
    """A credential-shaped value made at run time (no committed file holds one)."""
    return f"{kind}-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    import anthropic.lib.aws._auth as aws_auth
    aws_auth._get_session.cache_clear()         # the SDK keeps boto3 sessions (and their credentials) per process


# --------------------------------------------------------------------------- the platforms' answers

def _sse(events: list[dict]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def _message_events(model: str) -> list[dict]:
    return [{"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                                                  "content": [], "stop_reason": None, "stop_sequence": None,
                                                  "usage": {"input_tokens": 11, "output_tokens": 1,
                                                            "cache_creation_input_tokens": 0,
                                                            "cache_read_input_tokens": 7}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": 2}},
            {"type": "message_stop"}]


def _es_header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def _event_stream(events: list[dict]) -> bytes:
    """InvokeModelWithResponseStream's AWS event-stream framing: one `chunk` frame per Messages event."""
    out = b""
    for e in events:
        payload = json.dumps({"bytes": base64.b64encode(json.dumps(e).encode()).decode()}).encode()
        headers = (_es_header(":event-type", "chunk") + _es_header(":content-type", "application/json")
                   + _es_header(":message-type", "event"))
        prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
        frame = prelude + struct.pack(">I", binascii.crc32(prelude)) + headers + payload
        out += frame + struct.pack(">I", binascii.crc32(frame))
    return out


class Platform:
    """A MockTransport standing in for one platform: records requests, answers like it."""

    def __init__(self, status: int = 200, error_message: str = "denied"):
        self.requests: list[httpx2.Request] = []
        self.status, self.error_message = status, error_message

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx2.Response(self.status, json={"type": "error", "error": {
                "type": "authentication_error", "message": self.error_message}})
        path = request.url.path
        if "count_tokens" in path or "count-tokens" in path:
            return httpx2.Response(200, json={"input_tokens": 1234})
        if path.endswith("/invoke-with-response-stream"):
            return httpx2.Response(200, content=_event_stream(_message_events(MODEL)),
                                   headers={"content-type": "application/vnd.amazon.eventstream"})
        body = json.loads(request.content) if request.content else {}
        if body.get("stream") or path.endswith(":streamRawPredict"):
            return httpx2.Response(200, content=_sse(_message_events(MODEL)),
                                   headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, json={"id": "msg_0", "type": "message", "role": "assistant", "model": MODEL,
                                          "content": [], "stop_reason": "max_tokens", "stop_sequence": None,
                                          "usage": {"input_tokens": 0, "output_tokens": 0,
                                                    "cache_creation_input_tokens": 900,
                                                    "cache_read_input_tokens": 0}})

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def body(self, i: int = -1) -> dict:
        return json.loads(self.requests[i].content)


class FakeGoogleCredentials:
    """What google.auth.default() returns: a token that is valid, not expired."""

    def __init__(self, token: str):
        self.token, self.expired, self.valid = token, False, True

    def refresh(self, request):                 # pragma: no cover - never expired here
        raise AssertionError("no refresh expected")


SETTINGS = {
    "anthropic": {},
    "aws": {"aws_region": "us-east-1", "aws_workspace_id": "wrkspc_01test"},
    "bedrock": {"aws_region": "us-east-1"},
    "bedrock-legacy": {"aws_region": "us-east-1"},
    "vertex": {"vertex_region": "global", "vertex_project_id": "acme-proj"},
    "google-cloud": {"google_cloud_project": "acme-proj", "google_cloud_workspace_id": "wrkspc_01test"},
    "foundry": {"foundry_resource": "acme-res"},
}


def credentials_for(provider: str, monkeypatch, sigv4: bool = False) -> str:
    """Put a run-time credential where the platform's own chain finds it; return it."""
    value = secret("cred")
    if provider == "anthropic":
        pass                                                  # passed as api_key, as the commands do
    elif provider in ("aws", "bedrock", "bedrock-legacy"):
        if sigv4:
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + uuid.uuid4().hex[:16].upper())
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", value)
        else:
            monkeypatch.setenv("ANTHROPIC_AWS_API_KEY" if provider == "aws" else "AWS_BEARER_TOKEN_BEDROCK", value)
    elif provider == "vertex":
        monkeypatch.setattr("anthropic.lib.vertex._client.load_auth",
                            lambda project_id: (FakeGoogleCredentials(value), project_id))
    elif provider == "google-cloud":
        monkeypatch.setattr("anthropic.lib.google_cloud._client._load_adc_credentials",
                            lambda: (FakeGoogleCredentials(value), "acme-proj"))
    elif provider == "foundry":
        monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", value)
    return value


def target_for(provider: str, model: str = MODEL, **settings) -> providers.Target:
    return providers.resolve(Config(provider=provider, model=model, **{**SETTINGS[provider], **settings}), {})


def client_for(target: providers.Target, handler: Platform, api_key: str | None = None, max_retries: int = 0):
    return providers.build_client(target, api_key=api_key, max_retries=max_retries, timeout=30,
                                  http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


def a_request(model: str, prewarm: bool = False) -> dict:
    """A real reviewbot request: the shared prefix (two block-level breakpoints) and a delta."""
    prefix = Prefix(model=model, system_text="You review code.", opening="Review this change.",
                    reads=(("shared-mr-context.txt", "# context"), ("diff/001-app.py.patch", "+x = 1\n")))
    return (build_prewarm(prefix) if prewarm else build_request(prefix, "You are the security reviewer.", [], 512)).body


async def _send(target, handler, request, api_key=None, count=False):
    async with client_for(target, handler, api_key) as client:
        transport = AnthropicTransport(client, target=target)
        if count:
            return await transport.count_tokens(request)
        return await transport.send(request)


def direct_body(request: dict) -> dict:
    handler = Platform()
    asyncio.run(_send(providers.DIRECT, handler, request, api_key=secret("key")))
    return handler.body()


# ------------------------------------------------------------------------ same body, platform's URL

URLS = {
    "anthropic": "https://api.anthropic.com/v1/messages",
    "aws": "https://aws-external-anthropic.us-east-1.api.aws/v1/messages",
    "bedrock": "https://bedrock-mantle.us-east-1.api.aws/anthropic/v1/messages",
    "bedrock-legacy": "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                      "global.anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream",
    "vertex": "https://aiplatform.googleapis.com/v1/projects/acme-proj/locations/global/publishers/anthropic/"
              "models/claude-haiku-4-5@20251001:streamRawPredict",
    "google-cloud": "https://claude.googleapis.com/v1/projects/acme-proj/locations/global/workspaces/wrkspc_01test/"
                    "invoke/v1/messages",
    "foundry": "https://acme-res.services.ai.azure.com/anthropic/v1/messages",
}


def expected_body(provider: str, direct: dict, target: providers.Target, sent: dict) -> dict:
    """The direct API's body as the platform documents it: Vertex and legacy Bedrock carry the
    model (and, on Bedrock, the stream flag) in the URL and the API version in the body."""
    body = {**direct, "model": target.model}
    if provider == "vertex":
        body.pop("model")
        body["anthropic_version"] = sent.get("anthropic_version")
        assert isinstance(body["anthropic_version"], str) and body["anthropic_version"]
    if provider == "bedrock-legacy":
        body.pop("model")
        body.pop("stream", None)
        body["anthropic_version"] = "bedrock-2023-05-31"
    return body


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_each_provider_sends_the_direct_request_body_to_its_own_url(provider, monkeypatch):
    target = target_for(provider)
    key = credentials_for(provider, monkeypatch)
    direct = direct_body(a_request(MODEL))
    handler = Platform()
    reply = asyncio.run(_send(target, handler, a_request(target.api_model),
                              api_key=key if provider == "anthropic" else None))
    assert str(handler.last.url) == URLS[provider]
    assert reply.model == target.api_model or provider == "anthropic"    # priced from the model table
    assert handler.last.method == "POST"
    sent = handler.body()
    assert sent == expected_body(provider, direct, target, sent)
    assert "cache_control" not in sent and sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert reply.content == ({"type": "text", "text": "ok"},) and reply.stop_reason == "end_turn"
    assert reply.usage.input_tokens == 11 and reply.usage.cache_read == 7 and reply.usage.output_tokens == 2


def test_a_regional_endpoint_prices_each_call_at_its_premium(monkeypatch):
    from reviewbot.llm.usage import CallRecord, call_cost, summarize
    target = target_for("bedrock-legacy", "eu.anthropic.claude-haiku-4-5-20251001-v1:0")
    credentials_for("bedrock-legacy", monkeypatch)
    reply = asyncio.run(_send(target, Platform(), a_request(target.api_model)))
    assert reply.model == "claude-haiku-4-5" and reply.price_factor == 1.1
    call = CallRecord("x", reply.model, reply.usage, 0, 0, 0, price_factor=reply.price_factor)
    base = CallRecord("x", reply.model, reply.usage, 0, 0, 0)
    assert call_cost(call) == pytest.approx(call_cost(base) * 1.1)
    assert summarize((call,)).cost == pytest.approx(call_cost(base) * 1.1)


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_the_prewarm_call_is_the_same_body_too(provider, monkeypatch):
    target = target_for(provider)
    key = credentials_for(provider, monkeypatch)
    direct = direct_body(a_request(MODEL, prewarm=True))
    handler = Platform()
    reply = asyncio.run(_send(target, handler, a_request(target.api_model, prewarm=True),
                              api_key=key if provider == "anthropic" else None))
    sent = handler.body()
    assert sent == expected_body(provider, direct, target, sent) and "stream" not in direct
    assert sent["max_tokens"] == 0 and reply.usage.cache_write_5m == 900
    assert str(handler.last.url).endswith({"bedrock-legacy": "/invoke", "vertex": ":rawPredict"}.get(provider, "/v1/messages"))


@pytest.mark.parametrize("provider", [p for p in providers.PROVIDERS if providers.PLATFORMS[p].count_tokens])
def test_count_tokens_goes_to_the_platforms_counting_endpoint(provider, monkeypatch):
    target = target_for(provider)
    key = credentials_for(provider, monkeypatch)
    handler = Platform()
    assert asyncio.run(_send(target, handler, a_request(target.api_model), api_key=key if provider == "anthropic" else None,
                             count=True)) == 1234
    url = str(handler.last.url)
    if provider == "vertex":
        assert url.endswith("/publishers/anthropic/models/count-tokens:rawPredict")
        assert handler.body()["model"] == "claude-haiku-4-5@20251001"
    else:
        assert url == URLS[provider].replace("/v1/messages", "/v1/messages/count_tokens")
        assert handler.body()["model"] == target.model
    assert "max_tokens" not in handler.body()


def test_platform_headers_and_auth_come_from_each_platforms_chain(monkeypatch):
    seen = {}
    for provider in providers.PROVIDERS:
        target = target_for(provider)
        key = credentials_for(provider, monkeypatch) if provider != "anthropic" else secret("key")
        handler = Platform()
        asyncio.run(_send(target, handler, a_request(target.api_model), api_key=key if provider == "anthropic" else None))
        headers = handler.last.headers
        seen[provider] = headers
        if provider in ("anthropic", "aws"):             # the SDK sends an API key as x-api-key or a bearer
            assert key in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))
        elif provider == "foundry":
            assert headers["x-api-key"] == key and headers["api-key"] == key
        else:
            assert headers["authorization"] == f"Bearer {key}"
    assert seen["aws"]["anthropic-workspace-id"] == "wrkspc_01test"
    # the cloud clients never send a Claude API key that happens to be in the environment
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret("stray"))
    for provider in ("aws", "google-cloud", "foundry"):
        handler = Platform()
        asyncio.run(_send(target_for(provider), handler, a_request(target_for(provider).model)))
        assert os.environ["ANTHROPIC_API_KEY"] not in str(handler.last.headers)


@pytest.mark.parametrize("provider", ["aws", "bedrock", "bedrock-legacy"])
def test_sigv4_from_the_default_aws_chain(provider, monkeypatch):
    pytest.importorskip("botocore")
    target = target_for(provider)
    secret_key = credentials_for(provider, monkeypatch, sigv4=True)
    providers.check_credentials(target, os.environ)
    handler = Platform()
    asyncio.run(_send(target, handler, a_request(target.api_model)))
    auth = handler.last.headers["authorization"]
    service = {"aws": "aws-external-anthropic", "bedrock": "bedrock-mantle", "bedrock-legacy": "bedrock"}[provider]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIA") and f"/us-east-1/{service}/aws4_request" in auth
    assert secret_key not in str(handler.last.headers)


def test_foundry_uses_entra_id_without_a_key(monkeypatch):
    token = secret("entra")
    monkeypatch.setattr(providers, "_azure_token_provider", lambda: (lambda: token))
    handler = Platform()
    target = target_for("foundry")
    asyncio.run(_send(target, handler, a_request(target.api_model)))
    assert handler.last.headers["authorization"] == f"Bearer {token}" and "x-api-key" not in handler.last.headers


# ------------------------------------------------------------------ credentials never in an error

@pytest.mark.parametrize("provider", providers.PROVIDERS)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_is_one_line_without_the_credential(provider, status, monkeypatch):
    target = target_for(provider)
    key = credentials_for(provider, monkeypatch) if provider != "anthropic" else secret("key")
    handler = Platform(status=status)
    with pytest.raises(CredentialsError) as info:
        asyncio.run(_send(target, handler, a_request(target.api_model), api_key=key if provider == "anthropic" else None))
    message = str(info.value)
    assert "\n" not in message and key not in message and message


def test_a_failing_call_never_prints_the_credential(monkeypatch):
    for provider in providers.PROVIDERS:
        target = target_for(provider)
        key = credentials_for(provider, monkeypatch) if provider != "anthropic" else secret("key")
        with pytest.raises(APIError) as info:
            asyncio.run(_send(target, Platform(status=500, error_message="boom"), a_request(target.api_model),
                              api_key=key if provider == "anthropic" else None))
        assert key not in str(info.value) and "\n" not in str(info.value)


def test_no_flag_takes_a_credential(capsys):
    with pytest.raises(SystemExit):
        main(["review", "--help"])
    review_help = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["github", "--help"])
    github_help = capsys.readouterr().out
    for text in (review_help, github_help):
        flags = {w.split("=")[0].strip(",") for w in text.split() if w.startswith("--")}
        assert "--provider" in flags and "--aws-region" in flags
        assert not {f for f in flags if any(s in f for s in ("key", "token", "secret", "password", "credential"))}


def test_missing_cloud_credentials_are_one_line_naming_where_to_look(monkeypatch):
    pytest.importorskip("boto3")
    target = target_for("bedrock")
    with pytest.raises(ConfigError) as info:
        providers.check_credentials(target, {})
    assert "no AWS credentials" in str(info.value) and "configure-aws-credentials" in str(info.value)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        providers.check_credentials(providers.DIRECT, {})
    providers.check_credentials(target_for("aws"), {"ANTHROPIC_AWS_API_KEY": secret("k")})   # a key is enough


# --------------------------------------------------------------------------- model ids and errors

def test_platform_model_ids():
    assert providers.platform_model_id("anthropic", "claude-sonnet-4-6") == "claude-sonnet-4-6"
    assert providers.platform_model_id("aws", "claude-opus-5-5") == "claude-opus-5-5"
    assert providers.platform_model_id("bedrock", "claude-opus-4-8") == "anthropic.claude-opus-4-8"
    assert providers.platform_model_id("bedrock-legacy", "claude-sonnet-4-5") == \
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert providers.platform_model_id("bedrock-legacy", "claude-sonnet-4-5-20250929", "us") == \
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert providers.platform_model_id("bedrock-legacy", "claude-opus-4-6", "none") == "anthropic.claude-opus-4-6-v1"
    assert providers.platform_model_id("vertex", "claude-sonnet-4-5") == "claude-sonnet-4-5@20250929"
    assert providers.platform_model_id("vertex", "claude-opus-4-7") == "claude-opus-4-7"
    assert providers.platform_model_id("foundry", "claude-sonnet-5") == "claude-sonnet-5"
    # the platform's own id is accepted as well, its inference profile included
    assert providers.platform_model_id("bedrock-legacy", "eu.anthropic.claude-haiku-4-5-20251001-v1:0") == \
        "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert providers.platform_model_id("vertex", "claude-sonnet-4-5@20250929") == "claude-sonnet-4-5@20250929"
    assert providers.platform_model_id("bedrock", "anthropic.claude-opus-4-7") == "anthropic.claude-opus-4-7"
    with pytest.raises(ConfigError, match="no 'jp' inference profile"):
        providers.platform_model_id("bedrock-legacy", "jp.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert providers.price_factor(target_for("bedrock-legacy", "eu.anthropic.claude-haiku-4-5-20251001-v1:0")) == 1.1
    for model_id, api in (("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
                          ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
                          ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
                          ("anthropic.claude-opus-4-8", "claude-opus-4-8"),
                          ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
                          ("claude-sonnet-4-6", "claude-sonnet-4-6")):
        assert providers.canonical_model(model_id) == api


@pytest.mark.parametrize("provider,model,fragment", [
    ("bedrock-legacy", "claude-opus-4-7", "Opus 4.7 and later are on provider 'bedrock'"),
    ("bedrock", "claude-sonnet-4-6", "available: claude-fable-5-1"),
    ("vertex", "claude-fable-5-2", "Vertex AI (Google-managed) does not offer model 'claude-fable-5-2'"),
    ("foundry", "claude-mythos-5", "Microsoft Foundry does not offer"),
])
def test_a_model_the_platform_does_not_offer_is_one_line(provider, model, fragment):
    with pytest.raises(ConfigError) as info:
        target_for(provider, model)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_an_inference_profile_the_model_lacks_is_one_line():
    with pytest.raises(ConfigError, match="no 'jp' inference profile"):
        target_for("bedrock-legacy", "claude-haiku-4-5", bedrock_inference_profile="jp")


def test_settings_come_from_config_else_the_sdks_variables():
    cfg = Config(provider="vertex", model="claude-opus-4-6")
    with pytest.raises(ConfigError, match="needs 'vertex_region'.*--vertex-region.*CLOUD_ML_REGION"):
        providers.resolve(cfg, {})
    assert providers.resolve(cfg, {"CLOUD_ML_REGION": "us-east5"}).get("vertex_region") == "us-east5"
    assert providers.resolve(Config(provider="aws", model=MODEL), {"AWS_DEFAULT_REGION": "eu-west-1",
                                                                   "ANTHROPIC_AWS_WORKSPACE_ID": "w"}).settings == \
        (("aws_region", "eu-west-1"), ("aws_workspace_id", "w"))
    with pytest.raises(ConfigError, match="needs 'aws_workspace_id'"):
        providers.resolve(Config(provider="aws", model=MODEL, aws_region="us-east-1"), {})


def test_config_keys_are_validated():
    cfg = config_from_mapping({"provider": "bedrock-legacy", "aws_region": "us-west-2",
                               "bedrock_inference_profile": "eu"})
    assert (cfg.provider, cfg.aws_region, cfg.bedrock_inference_profile) == ("bedrock-legacy", "us-west-2", "eu")
    with pytest.raises(ConfigError, match="'provider' must be one of anthropic, aws, bedrock"):
        config_from_mapping({"provider": "azure"})
    with pytest.raises(ConfigError, match="'bedrock_inference_profile' must be one of"):
        config_from_mapping({"bedrock_inference_profile": "mars"})
    with pytest.raises(ConfigError, match="'aws_region' must be a non-empty string"):
        config_from_mapping({"aws_region": 3})


# -------------------------------------------------------------------- what a platform lacks, as data

def test_features_each_platform_lacks():
    lacks = {name: [f for f in ("count_tokens", "batches", "top_level_cache_control") if not getattr(p, f)]
             for name, p in providers.PLATFORMS.items()}
    assert lacks == {"anthropic": [], "aws": [], "bedrock": ["batches"],
                     "bedrock-legacy": ["count_tokens", "batches", "top_level_cache_control"],
                     "vertex": ["batches"], "google-cloud": [], "foundry": ["batches"]}
    assert {n: p.cache_isolation for n, p in providers.PLATFORMS.items()} == {
        "anthropic": "workspace", "aws": "workspace", "bedrock": "organization", "bedrock-legacy": "organization",
        "vertex": "organization", "google-cloud": "workspace", "foundry": "workspace"}


@pytest.mark.parametrize("provider", ["bedrock", "bedrock-legacy", "vertex", "foundry"])
def test_batch_mode_refuses_in_one_line(provider):
    with pytest.raises(ConfigError) as info:
        providers.require_batches(target_for(provider))
    assert "has no Message Batches API" in str(info.value) and "\n" not in str(info.value)
    for ok in ("anthropic", "aws", "google-cloud"):
        providers.require_batches(target_for(ok))


def test_legacy_bedrock_gets_block_level_breakpoints_only():
    target = target_for("bedrock-legacy")
    for request in (a_request(target.api_model), a_request(target.api_model, prewarm=True)):
        providers.check_request(target, request)                # what reviewbot builds passes
    with pytest.raises(ConfigError, match="top-level cache_control"):
        providers.check_request(target, {**a_request(target.api_model), "cache_control": {"type": "ephemeral"}})
    providers.check_request(target_for("anthropic"), {"cache_control": {"type": "ephemeral"}})


def test_legacy_bedrock_has_no_token_counting_in_the_sdk_either(monkeypatch):
    import anthropic
    target = target_for("bedrock-legacy")
    credentials_for("bedrock-legacy", monkeypatch)
    handler = Platform()

    async def count():
        async with client_for(target, handler) as client:
            await client.messages.count_tokens(model=target.model, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.AnthropicError, match="Token counting is not supported"):
        asyncio.run(count())
    assert handler.requests == []
    assert providers.estimate_tokens({"model": "m", "messages": [{"role": "user", "content": "x" * 400}]},
                                     ("model", "messages")) == 111     # the 444 characters of messages / 4


# ---------------------------------------------------------------------------------------- prices

def test_regional_endpoints_cost_ten_percent_more():
    base = price_of("claude-sonnet-4-5")
    for target, factor in ((target_for("bedrock-legacy", "claude-sonnet-4-5"), 1.0),
                           (target_for("bedrock-legacy", "claude-sonnet-4-5", bedrock_inference_profile="us"), 1.1),
                           (target_for("bedrock-legacy", "claude-sonnet-4-5", bedrock_inference_profile="none"), 1.1),
                           (target_for("vertex", "claude-sonnet-4-5"), 1.0),
                           (target_for("vertex", "claude-sonnet-4-5", vertex_region="us-east5"), 1.1),
                           (target_for("aws", "claude-sonnet-4-5"), 1.0),
                           (target_for("foundry", "claude-sonnet-4-5"), 1.0)):
        assert providers.price_factor(target) == factor
        p = providers.platform_price(base, target)
        assert isinstance(p, Price)
        assert (p.input, p.output) == (round(base.input * factor, 6), round(base.output * factor, 6))
        assert p.read == round(base.read * factor, 6) and p.write_1h == round(base.write_1h * factor, 6)


def test_platform_published_minimum_cacheable_lengths():
    assert providers.min_cacheable_tokens(target_for("bedrock-legacy", "claude-haiku-4-5")) == 4096
    assert providers.min_cacheable_tokens(target_for("bedrock-legacy", "claude-sonnet-4-6")) == 1024
    assert providers.min_cacheable_tokens(target_for("vertex", "claude-sonnet-4-6")) is None


# ------------------------------------------------------------------------------- the command line

@pytest.fixture
def repo(tmp_path):
    path, _ = clone("unidiff-126", tmp_path)
    return path




def test_cli_model_not_offered_exits_2_before_any_call(repo, capsys):
    code, out, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                          "--provider", "bedrock-legacy", "--aws-region", "us-east-1", "--model", "claude-opus-4-8")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("reviewbot: error: Claude on Amazon Bedrock (legacy InvokeModel) does not offer model "
                          "'claude-opus-4-8'")


def test_cli_missing_region_and_bad_provider_are_one_line(repo, capsys):
    code, _, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr", "--provider", "vertex")
    assert code == 2 and err == ("reviewbot: error: provider 'vertex' needs 'vertex_region': set it in the config, "
                                 "pass --vertex-region, or set CLOUD_ML_REGION\n")
    (repo.parent / "p.toml").write_text('provider = "azure"\n')
    code, _, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                        "--config", str(repo.parent / "p.toml"))
    assert code == 2 and err.count("\n") == 1 and "'provider' must be one of" in err


def test_cli_missing_aws_credentials_exit_2_in_one_line(repo, capsys):
    pytest.importorskip("boto3")
    code, out, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                          "--provider", "bedrock", "--aws-region", "us-east-1", "--model", "claude-opus-4-8")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no AWS credentials found" in err


def test_cli_dry_run_on_legacy_bedrock_says_it_estimates_and_sends_nothing(repo, capsys, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("the estimate sends nothing")
    monkeypatch.setattr(providers, "build_client", no_network)
    code, out, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                          "--provider", "bedrock-legacy", "--aws-region", "us-east-1",
                          "--model", "claude-sonnet-4-5", "--dry-run", "--format", "json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["token_counts"] == "estimated" and plan["model"] == "claude-sonnet-4-5"
    assert plan["shared_prefix"]["tokens"] > 0 and all(c["total_tokens"] > c["shared_prefix_tokens"]
                                                       for c in plan["calls"])
    assert any("token counts are estimates" in a and "no count_tokens endpoint" in a for a in plan["assumptions"])
    assert "estimating the tokens" in err
    code, out, _ = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                        "--provider", "bedrock-legacy", "--aws-region", "us-east-1", "--model", "claude-sonnet-4-5",
                        "--dry-run")
    assert code == 0 and "token counts estimated locally: Claude on Amazon Bedrock (legacy InvokeModel) has no " \
                         "count_tokens endpoint" in out


# ------------------------------------------------------------------------------- reviewbot github

def _github(monkeypatch, capsys, tmp_path, *args, fork=False):
    payload = json.loads((Path(__file__).parent / "data" / "github" / "events" / "widgets-7-opened.json").read_text())
    if fork:
        payload["pull_request"]["head"]["repo"]["full_name"] = "mallory/widgets"
    event = tmp_path / f"event{'-fork' if fork else ''}.json"
    event.write_text(json.dumps(payload))
    outputs, summary = tmp_path / f"out{'-fork' if fork else ''}", tmp_path / f"summary{'-fork' if fork else ''}.md"
    for k, v in {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_TOKEN": "t",
                 "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": "acme/widgets",
                 "GITHUB_EVENT_PATH": str(event)}.items():
        monkeypatch.setenv(k, v)
    code = main(["github", "--github-throttle", "0", *args])
    cap = capsys.readouterr()
    return code, cap.err, outputs.read_text(), summary.read_text()


def test_github_without_cloud_credentials_is_one_line_before_any_request(monkeypatch, capsys, tmp_path):
    pytest.importorskip("boto3")
    args = ("--provider", "bedrock", "--aws-region", "us-east-1")
    code, err, outputs, summary = _github(monkeypatch, capsys, tmp_path, *args)     # GitHub is unreachable:
    assert code == 2 and err.count("\n") == 1 and "no AWS credentials found" in err  # nothing was asked of it
    assert "skipped=no-api-key" in outputs and "Failed: no AWS credentials found" in summary
    code, err, outputs, summary = _github(monkeypatch, capsys, tmp_path, *args, fork=True)
    assert code == 0 and err.count("\n") == 1 and "forks or Dependabot get no secrets and no OIDC token" in err
    assert "skipped=no-api-key" in outputs and "Skipped: no AWS credentials found" in summary


# ------------------------------------------------------------------------- the Action and the README

ROOT = Path(__file__).parent.parent


def _action():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _fake(tmp_path, name):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / name
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    return bindir


def _step(script, env, tmp_path, name):
    import subprocess
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          env={"PATH": f"{_fake(tmp_path, name)}:/usr/bin:/bin", **env}, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_every_platform_setting_is_an_action_input_and_reaches_the_command(tmp_path):
    from reviewbot.cli import parser
    action = _action()
    inputs = set(action["inputs"])
    settings = [k.replace("_", "-") for k in providers.SETTINGS if k != "aws_profile"]   # a profile is local only
    assert {"provider", *settings} <= inputs
    review = next(s for s in action["runs"]["steps"] if s.get("id") == "review")
    env = {"REVIEWBOT_REVIEW_DRAFTS": "false", "REVIEWBOT_PROVIDER": "bedrock-legacy"}
    env |= {f"REVIEWBOT_{s.upper().replace('-', '_')}": f"v-{s}" for s in settings}
    env["REVIEWBOT_AWS_REGION"] = "$(touch pwned)"
    argv = _step(review["run"], env, tmp_path, "reviewbot")
    assert argv[:3] == ["github", "--provider", "bedrock-legacy"]
    assert argv[3:-2] == [x for s in settings for x in (f"--{s}", "$(touch pwned)" if s == "aws-region" else f"v-{s}")]
    assert not (tmp_path / "pwned").exists()
    for s in settings:
        assert review["env"][f"REVIEWBOT_{s.upper().replace('-', '_')}"] == f"${{{{ inputs.{s} }}}}"
    args = parser().parse_args([a if a != "v-bedrock-inference-profile" else "eu" for a in argv])
    assert args.provider == "bedrock-legacy" and args.aws_workspace_id == "v-aws-workspace-id"


@pytest.mark.parametrize("provider,extra", [("", ""), ("anthropic", ""), ("aws", "[aws]"), ("bedrock", "[bedrock]"),
                                            ("bedrock-legacy", "[bedrock]"), ("vertex", "[vertex]"),
                                            ("google-cloud", "[google-cloud]"), ("foundry", "[foundry]")])
def test_the_action_installs_the_providers_extra(tmp_path, provider, extra):
    install = _action()["runs"]["steps"][1]
    argv = _step(install["run"], {"REVIEWBOT_PROVIDER": provider, "GITHUB_ACTION_PATH": "/act"}, tmp_path, "python")
    assert argv[-1] == f"/act{extra}" and argv[:3] == ["-m", "pip", "install"]
    assert install["env"]["REVIEWBOT_PROVIDER"] == "${{ inputs.provider }}"


def test_each_platforms_extra_is_declared():
    import tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for p in providers.PLATFORMS.values():
        assert p.extra is None or extras[p.extra]
    assert any(d.startswith("boto3") for d in extras["bedrock"]) and any(d.startswith("google-auth")
                                                                         for d in extras["vertex"])


OIDC = {"aws": "aws-actions/configure-aws-credentials@", "bedrock": "aws-actions/configure-aws-credentials@",
        "bedrock-legacy": "aws-actions/configure-aws-credentials@", "vertex": "google-github-actions/auth@",
        "google-cloud": "google-github-actions/auth@", "foundry": "azure/login@"}


def test_the_readme_has_an_oidc_workflow_per_platform():
    yaml = pytest.importorskip("yaml")
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Providers"):readme.index("## How it works")]
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in section.split("```yaml\n")[1:]]
    inputs = set(_action()["inputs"])
    seen = {}
    for wf in blocks:
        assert wf["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
        login, review = wf["jobs"]["review"]["steps"]
        assert review["uses"] == "reviewbot/reviewbot@v1" and set(review["with"]) <= inputs
        provider = review["with"]["provider"]
        assert login["uses"].startswith(OIDC[provider])
        assert login["if"] == ("${{ github.event.pull_request.head.repo.full_name == github.repository && "
                               "github.actor != 'dependabot[bot]' }}")       # no OIDC token there: skip the login
        assert "secrets." not in json.dumps(wf)                        # nothing long-lived
        providers.resolve(Config(provider=provider, **{k.replace("-", "_"): v for k, v in review["with"].items()
                                                       if k != "provider"}),
                          {"AWS_REGION": login.get("with", {}).get("aws-region", "")})   # a valid configuration
        seen[provider] = wf
    assert set(seen) == set(OIDC)


@pytest.mark.parametrize("provider", ["aws", "bedrock", "bedrock-legacy", "vertex", "google-cloud"])
def test_a_credential_chain_failing_mid_run_is_one_line_not_a_traceback(provider, monkeypatch):
    pytest.importorskip("botocore")
    pytest.importorskip("google.auth")
    target = target_for(provider)                          # nothing in the environment, no ADC file
    handler = Platform()
    with pytest.raises(CredentialsError) as info:
        asyncio.run(_send(target, handler, a_request(target.api_model)))
    assert "credential chain failed" in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(target.platform.title + ": ") and handler.requests == []


def test_cli_review_on_a_cloud_provider_that_cannot_be_reached_is_one_line_exit_4(repo, capsys, monkeypatch):
    key = secret("awskey")
    monkeypatch.setenv("ANTHROPIC_AWS_API_KEY", key)
    monkeypatch.setenv("ANTHROPIC_AWS_BASE_URL", "http://127.0.0.1:9")          # nothing listens
    code, out, err = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr", "--provider", "aws",
                          "--aws-workspace-id", "wrkspc_01test", "--config", str(_all(repo)), "--format", "json")
    assert code == 4 and out == "" and key not in err and "Traceback" not in err
    assert err.endswith("reviewbot: error: cannot reach the Anthropic API: connection failed\n")


def _all(repo):
    path = repo.parent / "all.toml"
    path.write_text('max_retries = 0\n')
    return path


def test_the_legacy_bedrock_client_refuses_a_top_level_cache_control_before_sending(monkeypatch):
    target = target_for("bedrock-legacy")
    credentials_for("bedrock-legacy", monkeypatch)
    handler = Platform()
    with pytest.raises(ConfigError, match="does not accept a top-level cache_control"):
        asyncio.run(_send(target, handler, {**a_request(target.api_model), "cache_control": {"type": "ephemeral"}}))
    assert handler.requests == []


def test_the_dry_run_warns_with_the_platforms_own_minimum(repo, capsys, monkeypatch):
    monkeypatch.setattr(providers, "estimate_tokens", lambda request, fields: 3000)     # prefix 3,000 tokens
    code, out, _ = _cli(capsys, "review", "--repo", str(repo), "--base", "base", "--head", "pr",
                        "--provider", "bedrock-legacy", "--aws-region", "us-east-1", "--model", "claude-haiku-4-5",
                        "--dry-run", "--format", "json")
    assert code == 0
    assert any("minimum cacheable length (4,096)" in a for a in json.loads(out)["assumptions"])


def test_foundry_without_a_key_or_an_entra_login_is_one_line(monkeypatch):
    def no_login():
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token")
    monkeypatch.setattr(providers, "_azure_token_provider", lambda: no_login)
    with pytest.raises(ConfigError) as info:
        providers.check_credentials(target_for("foundry"), {})
    assert str(info.value).startswith("no Microsoft Entra ID credentials for provider 'foundry'")
    assert "azure/login" in str(info.value) and "\n" not in str(info.value)
    providers.check_credentials(target_for("foundry"), {"ANTHROPIC_FOUNDRY_API_KEY": secret("k")})
