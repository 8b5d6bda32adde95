"""Building the Messages API requests: the cached prefix and each agent's turns. Pure.

Layout of every request of a review (the seven specialists, the summary, the pre-warm):

    tools      read_file, submit_findings                       \
    system     base prompt                       <- breakpoint 1  |  byte-identical in every call:
    user       opening line                                       |  written to the cache once,
    assistant  tool_use read_file(shared-mr-context.txt),         |  read by all the others
               tool_use read_file(preloaded-patches.txt) <- bp 1b |  (up to 1b: the same in every PR)
               tool_use read_file(related-code.txt)  (if any)     |
    user       tool_results: the context, the patches <- bp 2    /
    system     (empty; output_config.effort: this agent's effort, where it differs from the review's
               and the model takes per-message effort)
    user       the agent's role and files        (varies per agent)
    ...        the agent's own turns             <- breakpoint 3 on the newest block, from turn 2

Breakpoint 1 (tools + system) is what calls of other top-level efforts still share (batch items of
different efforts); 1b, on the last pre-read call every review makes (not the related-code call,
which only a change with related code makes), ends the part that names nothing of the change (the
opening and the fixed file names), so the reviews of the next PR, with related code or without, read
it instead of writing it again; 2 ends this review's shared prefix.

The orchestrator pre-fills the reads every reviewer would make (the shared context and the
reviewed patches, within a budget), so they are paid for once and read by everyone at the cache
price; patches beyond the budget stay on disk for the agents' own read_file calls.

tool_choice and thinking are never set (thinking is the model's default: adaptive on the current
models), and the top-level `output_config.effort` is the review's one effort, so all three are the
same in every call (changing one would invalidate the cached messages). A specialist's own effort is
a role:"system" message with empty content (`[]`) after the shared prefix (per-message effort), so all
eight calls still read one cached prefix; on a model without per-message effort the review's one
effort applies to every call. Four breakpoints, the API's maximum; 1, 1b and 2 are a few
lookback positions apart, and 3 finds the previous turn's entry a few positions back. With cache diagnostics each call
names the message whose prefix it expects to reuse (`diagnostics.previous_message_id`).

Batch mode (`Prefix.batch_ttl` set: build_batch_request) has its own layout. A batch item takes no
beta header, so an agent's own effort is the request's top-level effort, which is keyed just before
the first message block: a prefix that reaches into the messages is then one cache entry per effort
level. So the review's shared content goes where every effort reads it, in the system blocks:

    tools      read_file, submit_findings                    |  the same in every review and round
    system     base prompt, batch note       <- bp 1 (batch_ttl) |  of a run: written once per run
    system     each pre-read file, fenced    <- bp 2 (batch_ttl)  this review's: written once
    -- top-level output_config.effort: this agent's effort --
    user       opening line                                   |  as in the interactive layout, but each
    assistant  tool_use read_file(...) per pre-read file      |  result only points at the fence that
    user       tool_results: "in the system prompt"       |  holds the file (a few tokens)
    user       the agent's role and files        (varies per agent)
    ...        the agent's own turns         <- bp 3 (batch_ttl) on the newest block, from turn 2

The conversation opens as the interactive one does (the agent has read those files: it does not read
them again), at the price of a few uncached tokens per call. The pre-read files are the texts the
interactive tool results carry, each whole inside one `fence` (safety.fence, the same helper the
context file's untrusted parts go through), and the batch note (prompts/batch_system.md.j2) says
that they are data, not instructions: in the system prompt they no longer arrive as tool output, so
the fence is what marks them. The layout is the same in every round of a review, so a thinking block
sent back in round 2 follows the prefix it was produced after. Every breakpoint of an item is at the
review's batch_ttl (one TTL, so none of them can precede a shorter one).

Each request comes out as a `Request`: the body as sent, how many of its messages are the shared
prefix and the effort its reply is written at, so the scheduler prices and paces it from these
fields and never reads them back out of the body.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from reviewbot.agents.tools import READ_FILE_NAME, TOOLS
from reviewbot.llm.models import model_info
from reviewbot.llm.transport import Body
from reviewbot.output.safety import fence
from reviewbot.repo.related import RELATED_FILE
from reviewbot.templates import render

PRELOAD_ID = "toolu_reviewbot_preload_{:03d}"
EPHEMERAL = {"type": "ephemeral"}

Message = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One Messages API request of a review and what the scheduler needs to know of it."""

    body: Body                 # what is sent, as sent (cassettes match it byte for byte)
    shared: int                # how many leading messages are the shared, cached prefix (0: none, the baseline)
    effort: str | None         # the effort the reply is written at (None: the model has no effort setting)

    @property
    def model(self) -> str:
        return str(self.body["model"])

    def own(self) -> list[Message]:
        """The messages after the shared prefix: this agent's effort message, delta and turns."""
        messages: list[Message] = self.body["messages"]
        return messages[self.shared:]


@dataclass(frozen=True)
class Prefix:
    """Everything the calls of one review share, in cache order."""

    model: str
    system_text: str
    opening: str
    reads: tuple[tuple[str, str], ...]          # (workspace path, text): the context file first
    base_ttl: str = "5m"
    tools: tuple[dict[str, Any], ...] = TOOLS
    naive: bool = False     # the baseline: everything inlined in the user prompt, no cache_control at all
    effort: str | None = None       # the review's top-level effort (None: the model's default)
    batch_ttl: str | None = None    # batch mode's layout (build_batch_request), the review's part at this TTL

    def _base_cc(self) -> dict[str, str]:
        return {"type": "ephemeral", "ttl": "1h"} if self.base_ttl == "1h" else dict(EPHEMERAL)

    def system(self) -> list[dict[str, Any]]:
        if self.naive:
            return [{"type": "text", "text": self.system_text}]
        return [{"type": "text", "text": self.system_text, "cache_control": self._base_cc()}]

    def messages(self) -> list[Message]:
        """The three prefix messages: the opening, the pre-filled reads, their results (breakpoint 2).

        Breakpoint 1b sits on the last read call that every review makes: the context file's and, when
        the change has patches to pre-read, preloaded-patches.txt's. The opening and these calls name
        no file of the change, so the prefix up to there is the same in every review of the same model
        and settings, across PRs. The related-code call comes after it: only a change with related code
        makes it, and a breakpoint on it would leave the next PR without related code nothing to read
        but breakpoint 1 (a lookup looks back, never forward).

        Naive mode: one user message with the files' texts embedded (what a bot without caching sends)."""
        if self.naive:
            files = "".join(f"\n\n===== {path} =====\n{text}" for path, text in self.reads)
            return [{"role": "user", "content": [{"type": "text", "text": self.opening + files}]}]
        ids = [PRELOAD_ID.format(i) for i in range(len(self.reads))]
        uses: list[dict[str, Any]] = [{"type": "tool_use", "id": i, "name": READ_FILE_NAME, "input": {"path": path}}
                                      for i, (path, _) in zip(ids, self.reads, strict=True)]
        results: list[dict[str, Any]] = [{"type": "tool_result", "tool_use_id": i, "content": text}
                                         for i, (_, text) in zip(ids, self.reads, strict=True)]
        uses[_last_common(self.reads)]["cache_control"] = self._base_cc()
        results[-1]["cache_control"] = dict(EPHEMERAL)
        return [{"role": "user", "content": [{"type": "text", "text": self.opening}]},
                {"role": "assistant", "content": uses},
                {"role": "user", "content": results}]

    def sha256(self) -> str:
        """Hash of the shared prefix as sent (model, tools, system, prefix messages)."""
        body: dict[str, Any] = {"model": self.model, "tools": list(self.tools), "system": self.system(),
                "messages": self.messages()}
        if self.effort:
            body["effort"] = self.effort
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _last_common(reads: tuple[tuple[str, str], ...]) -> int:
    """The index of the last pre-read call that every review makes (breakpoint 1b): the last one that
    is not the related-code call (the context file's call is always first)."""
    return max(i for i, (path, _) in enumerate(reads) if i == 0 or path != RELATED_FILE)


def effort_message(prefix: Prefix, effort: str | None) -> Message | None:
    """The effort-only system message that gives one agent its own effort, or None: no own effort, the
    same as the review's, or a model without per-message effort (then the review's effort applies)."""
    info = model_info(prefix.model)
    if not effort or not info.per_message_effort or effort not in info.effort:
        return None
    if effort == info.effort_or_default(prefix.effort):
        return None
    return {"role": "system", "content": [], "output_config": {"effort": effort}}


def effort_in_force(prefix: Prefix, effort: str | None) -> str | None:
    """The effort an agent's replies are written at (None: the model has no effort setting)."""
    info = model_info(prefix.model)
    if effort_message(prefix, effort) is not None:
        return effort
    return info.effort_or_default(prefix.effort) if info.effort else None


def _settings(prefix: Prefix) -> dict[str, Any]:
    info = model_info(prefix.model)
    return {"output_config": {"effort": prefix.effort}} if prefix.effort and info.effort else {}


def build_request(prefix: Prefix, delta: str, history: list[Message], max_tokens: int, effort: str | None = None,
                  diagnostics: dict[str, Any] | None = None) -> Request:
    """One turn of an agent: prefix + [its effort] + its role/files (delta) + its conversation so far.

    Breakpoint 3 sits on the newest block once the agent has turns of its own; on the first turn
    the delta alone is too small to be worth a cache write that may never be read. With
    `prefix.batch_ttl`, the batch layout (build_batch_request)."""
    if prefix.batch_ttl is not None and not prefix.naive:
        return build_batch_request(prefix, delta, history, max_tokens, effort, diagnostics)
    messages = prefix.messages()
    own = effort_message(prefix, effort)
    if own is not None:
        messages.append(own)
    messages.append({"role": "user", "content": [{"type": "text", "text": delta}]})
    messages += copy.deepcopy(history)
    if history and not prefix.naive:
        messages[-1]["content"][-1]["cache_control"] = dict(EPHEMERAL)
    body = _body(prefix, max_tokens, prefix.system(), messages, _settings(prefix), diagnostics)
    return Request(body, _shared(prefix), effort_in_force(prefix, effort))


def _body(prefix: Prefix, max_tokens: int, system: list[dict[str, Any]], messages: list[Message],
          settings: dict[str, Any], diagnostics: dict[str, Any] | None = None) -> Body:
    """One request body, in the order the cache keys it (tools, system, messages) and with the top-level
    settings; the diagnostics object where the model has cache diagnostics. Every builder's one body."""
    body: Body = {"model": prefix.model, "max_tokens": max_tokens, "tools": [dict(t) for t in prefix.tools],
                  "system": system, "messages": messages, **settings}
    if diagnostics is not None and model_info(prefix.model).diagnostics:
        body["diagnostics"] = diagnostics
    return body


def _shared(prefix: Prefix) -> int:
    """How many leading messages of every request are the cached prefix (none in the naive baseline)."""
    return 0 if prefix.naive else len(prefix.messages())


def build_prewarm(prefix: Prefix) -> Request:
    """A max_tokens=0 call that writes the shared prefix to the cache and generates nothing (with the
    same top-level settings as every agent call, which are part of the messages' cache key). In the
    batch layout it reads (and so refreshes) the system part: a keep-warm while a batch runs."""
    if prefix.batch_ttl is not None and not prefix.naive:
        return build_batch_prewarm(prefix)
    body = _body(prefix, 0, prefix.system(), prefix.messages(), _settings(prefix))
    return Request(body, _shared(prefix), effort_in_force(prefix, None))


def _cc(ttl: str) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": ttl}


def batch_system(prefix: Prefix) -> list[dict[str, Any]]:
    """The batch layout's system blocks (module docstring): the base prompt and the batch note, the
    same in every review and round (the first breakpoint), then each pre-read file whole in one fence
    (the second, on the last). Both at the review's batch_ttl: one TTL for every breakpoint of an item."""
    ttl = prefix.batch_ttl or "5m"
    base: list[dict[str, Any]] = [{"type": "text", "text": prefix.system_text},
                                  {"type": "text", "text": render("batch_system.md.j2"), "cache_control": _cc(ttl)}]
    reads: list[dict[str, Any]] = [{"type": "text", "text": fence(path, text)} for path, text in prefix.reads]
    if reads:
        reads[-1]["cache_control"] = _cc(ttl)
    return base + reads


def batch_messages(prefix: Prefix) -> list[Message]:
    """The batch layout's opening messages: the opening line and the read_file calls of the pre-read
    files, as in the interactive prefix, each result pointing at the system block that holds the text
    (no breakpoint: they follow the top-level effort, and are a few tokens)."""
    ids = [PRELOAD_ID.format(i) for i in range(len(prefix.reads))]
    uses = [{"type": "tool_use", "id": i, "name": READ_FILE_NAME, "input": {"path": path}}
            for i, (path, _) in zip(ids, prefix.reads, strict=True)]
    results = [{"type": "tool_result", "tool_use_id": i, "content": render("batch_read.md.j2", path=path)}
               for i, (path, _) in zip(ids, prefix.reads, strict=True)]
    return [{"role": "user", "content": [{"type": "text", "text": prefix.opening}]},
            {"role": "assistant", "content": uses}, {"role": "user", "content": results}]


def _batch_settings(prefix: Prefix, effort: str | None) -> dict[str, Any]:
    """The top-level effort of a batch-layout request: the effort the interactive request's reply would
    be written at (effort_in_force), omitted when that is the model's default (the same cache key)."""
    info = model_info(prefix.model)
    level = effort_in_force(prefix, effort)
    return {"output_config": {"effort": level}} if level and info.effort and level != info.default_effort else {}


def build_batch_request(prefix: Prefix, delta: str, history: list[Message], max_tokens: int,
                        effort: str | None = None, diagnostics: dict[str, Any] | None = None) -> Request:
    """One turn of an agent in the batch layout (module docstring): tools + batch_system, the agent's
    effort at the top level, its role/files (delta) and its conversation so far, breakpoint 3 on the
    newest block from turn 2 at the review's batch_ttl. Nothing in the messages is shared (shared=0):
    what all the calls of the review share is in the system blocks."""
    messages = batch_messages(prefix) + [{"role": "user", "content": [{"type": "text", "text": delta}]}]
    messages += copy.deepcopy(history)
    if history:
        messages[-1]["content"][-1]["cache_control"] = _cc(prefix.batch_ttl or "5m")
    body = _body(prefix, max_tokens, batch_system(prefix), messages, _batch_settings(prefix, effort), diagnostics)
    return Request(body, 0, effort_in_force(prefix, effort))


def build_batch_prewarm(prefix: Prefix) -> Request:
    """The batch layout's max_tokens=0 call (a keep-warm, sent interactively: a batch cannot take it): it
    reads the system part, which refreshes both of its entries, and writes nothing more."""
    body = _body(prefix, 0, batch_system(prefix), batch_messages(prefix), _batch_settings(prefix, None))
    return Request(body, 0, effort_in_force(prefix, None))


def tool_result(tool_use_id: str, content: str, is_error: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block
