"""The model table: every model reviewbot may call, with its prices and the rules requests follow.

One row per model (current and legacy, as the Claude docs list them on 2026-12-01): prices in USD per
million tokens (input, 5-minute and 1-hour cache writes, cache reads, output; Haiku 5.5 has a second,
dearer band for prompts over 100,000 tokens), the Batch API factor, the minimum cacheable prefix,
the tokenizer factor (the newer tokenizer counts about 1.3x the tokens for the same text), and the
thinking / effort / tool-choice rules. Cost, the no-cache baseline, the dry run, ITPM pacing and the
request builder all read this table and nothing else. An id not in the table is a one-line usage
error (exit 2) before any call: `model_info` raises ConfigError.

To add a model: one `_row(...)` line below (and an alias in `aliases` if the docs give one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reviewbot.errors import ConfigError

EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
_ALL = EFFORT_LEVELS
_NO_XHIGH = ("low", "medium", "high", "max")
BATCH_FACTOR = 0.5
# The beta that lets a role:"system" message with empty content set the effort of the turns after it.
BETA_PER_MESSAGE_EFFORT = "mid-conversation-output-config-2026-07-01"
# Thinking tokens per turn at each effort level: the dry run's and the budget's estimate (adaptive
# thinking decides its own length; these are typical figures, not limits).
THINKING_ESTIMATE = {"low": 150, "medium": 600, "high": 1500, "xhigh": 2200, "max": 3000}
SUBMISSION_ESTIMATE = 800        # output tokens of a typical submit_findings call, thinking excluded


@dataclass(frozen=True)
class Price:
    input: float
    write_5m: float
    write_1h: float
    read: float
    output: float


@dataclass(frozen=True)
class ModelInfo:
    id: str
    price: Price
    min_cacheable: int
    tokenizer: float = 1.0                   # tokens per "old tokenizer" token
    status: str = "active"                   # active, legacy, deprecated, limited
    aliases: tuple[str, ...] = ()
    long_price: Price | None = None          # Haiku 5.5: prompts over long_threshold tokens
    long_threshold: int = 0
    thinking_default: bool = False           # adaptive thinking on when the request does not set it
    forced_tool_choice: bool = True          # tool_choice any/tool accepted
    effort: tuple[str, ...] = ()             # levels accepted (empty: no effort parameter)
    default_effort: str | None = None
    per_message_effort: bool = False         # effort-only role:"system" messages (with the beta header)
    classifier: bool = False                 # safety classifiers: may answer stop_reason "refusal"
    diagnostics: bool = True                 # cache diagnostics (GA on the Claude API)

    def price_for(self, prompt_tokens: int) -> Price:
        if self.long_price is not None and prompt_tokens > self.long_threshold:
            return self.long_price
        return self.price

    def effort_or_default(self, effort: str | None) -> str | None:
        return effort or self.default_effort

    def thinking_tokens(self, effort: str | None) -> int:
        """The estimated thinking tokens of one turn (0 where thinking is off by default)."""
        if not self.thinking_default:
            return 0
        return THINKING_ESTIMATE.get(self.effort_or_default(effort) or "high", THINKING_ESTIMATE["high"])


def _p(inp: float, w5: float, w1: float, read: float, out: float) -> Price:
    return Price(inp, w5, w1, read, out)


_NEW: dict[str, Any] = dict(tokenizer=1.3, thinking_default=True, effort=_ALL, default_effort="high")
_FABLE_5_2, _FABLE_5_1, _FABLE_5 = _p(8, 10, 16, 0.20, 40), _p(10, 12.5, 20, 0.25, 50), _p(10, 12.5, 20, 1.0, 50)
_OPUS = _p(5, 6.25, 10, 0.50, 25)
_SONNET_4 = _p(3, 3.75, 6, 0.30, 15)


def _row(mid: str, price: Price, min_cacheable: int, **kw: Any) -> ModelInfo:
    return ModelInfo(mid, price, min_cacheable, **kw)


MODELS: tuple[ModelInfo, ...] = (
    _row("claude-fable-5-2", _FABLE_5_2, 512, forced_tool_choice=False, per_message_effort=True, classifier=True,
         **_NEW),
    _row("claude-mythos-5-2", _FABLE_5_2, 512, status="limited", forced_tool_choice=False, per_message_effort=True,
         **_NEW),
    _row("claude-fable-5-1", _FABLE_5_1, 512, forced_tool_choice=False, per_message_effort=True, classifier=True,
         **_NEW),
    _row("claude-mythos-5-1", _FABLE_5_1, 512, status="limited", forced_tool_choice=False, per_message_effort=True,
         **_NEW),
    _row("claude-fable-5", _FABLE_5, 512, status="legacy", classifier=True, **_NEW),
    _row("claude-mythos-5", _FABLE_5, 512, status="limited", **_NEW),
    _row("claude-opus-5-5", _p(4, 5, 8, 0.20, 20), 512, forced_tool_choice=False, per_message_effort=True,
         classifier=True, **dict(_NEW, default_effort="medium")),
    _row("claude-opus-5", _OPUS, 512, status="legacy", per_message_effort=True, classifier=True, **_NEW),
    _row("claude-sonnet-5-5", _p(2, 2.5, 4, 0.10, 10), 512, forced_tool_choice=False, per_message_effort=True,
         classifier=True, **_NEW),
    _row("claude-sonnet-5", _p(2, 2.5, 4, 0.20, 10), 1024, status="legacy", **_NEW),
    _row("claude-haiku-5-5", _p(0.10, 0.125, 0.20, 0.01, 0.50), 512, long_price=_p(0.50, 0.625, 1.00, 0.05, 2.50),
         long_threshold=100_000, classifier=True, **dict(_NEW, default_effort="medium")),
    _row("claude-opus-4-8", _OPUS, 1024, status="legacy", tokenizer=1.3, effort=_ALL, default_effort="high"),
    _row("claude-opus-4-7", _OPUS, 2048, status="legacy", tokenizer=1.3, effort=_ALL, default_effort="high"),
    _row("claude-mythos-preview", _p(25, 31.25, 50, 2.50, 125), 2048, status="limited", thinking_default=True,
         effort=_NO_XHIGH, default_effort="high"),
    _row("claude-opus-4-6", _OPUS, 4096, status="legacy", effort=_NO_XHIGH, default_effort="high"),
    _row("claude-sonnet-4-6", _SONNET_4, 1024, status="legacy", effort=_NO_XHIGH, default_effort="high"),
    _row("claude-opus-4-5-20251101", _OPUS, 4096, status="deprecated", aliases=("claude-opus-4-5",),
         effort=("low", "medium", "high"), default_effort="high"),
    _row("claude-sonnet-4-5-20250929", _SONNET_4, 1024, status="legacy", aliases=("claude-sonnet-4-5",)),
    _row("claude-haiku-4-5-20251001", _p(1, 1.25, 2, 0.10, 5), 4096, aliases=("claude-haiku-4-5",)),
)
_BY_ID = {i: m for m in MODELS for i in (m.id, *m.aliases)}


def known(model: str) -> bool:
    return model in _BY_ID


def model_info(model: str) -> ModelInfo:
    """The table's row for `model` (an id or an alias); an unknown id is a usage error."""
    try:
        return _BY_ID[model]
    except KeyError:
        current = ", ".join(m.id for m in MODELS if m.status == "active")
        raise ConfigError(f"unknown model {model!r} (not in reviewbot's model table; current models: {current})"
                          ) from None


def check_effort(model: str, effort: str | None, what: str = "effort") -> None:
    """A configured effort level the model does not accept is a usage error, before any call."""
    if effort is None:
        return
    info = model_info(model)
    if not info.effort:
        raise ConfigError(f"{what} = {effort!r}: model {model} has no effort setting (leave it out)")
    if effort not in info.effort:
        raise ConfigError(f"{what} = {effort!r}: model {model} accepts {', '.join(info.effort)}")
