"""A question or an objection in one of the bot's threads: one answer, from one model call.

`answer_reply` is what `reviewbot github` does with a reply (from a person with write access, the
caller checked) that is not a dismissal: it rebuilds the review's shared prefix for the PR as it is
now (the base branch's config, the PR's files, the prior findings), appends the finding and the
thread (agents.reply), makes one call, and posts the answer in the thread through the outgoing gate
(api.reply), with the conversation marker that records the comment answered (`re`: a re-run of the
event posts nothing) and the thread (`th`: a second objection gets no second argument). A withdrawn
finding is suppressed on the PR and its thread resolved. The usage line says whether the cached
prefix was reused (read from the cache) or cold.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from reviewbot.agents.reply import LABEL, answer_delta, answer_usage_line, build_answer_request, read_answer
from reviewbot.agents.requests import Request
from reviewbot.config import Config, with_overrides
from reviewbot.domain.events import Event
from reviewbot.errors import EXIT_OK, APIError, Outcome
from reviewbot.github import conversation as conv
from reviewbot.github.actions import outputs
from reviewbot.github.api import PostedComment, PullRequestApi
from reviewbot.github.event import TRUSTED_ASSOCIATIONS, ConversationEvent
from reviewbot.github.outgoing import outgoing
from reviewbot.github.prior import Prior, Thread, prior_lines
from reviewbot.github.source import read_pull
from reviewbot.llm import providers
from reviewbot.llm.transport import Connect, Connection
from reviewbot.llm.usage import CallRecord
from reviewbot.output.safety import prose
from reviewbot.pipeline.metered import Metered
from reviewbot.pipeline.review import prepare
from reviewbot.pipeline.schedule import Budget, Runner
from reviewbot.secrets import known_secrets


class Report(Protocol):
    """Where the run reports (commands.github._Out)."""

    known: tuple[str, ...]

    def say(self, msg: str, always: bool = False) -> None: ...

    def progress(self, event: Event) -> None: ...

    def finish(self, title: str, status: str, out: dict[str, str], details: str = "") -> None: ...


Skip = Callable[[str, str], Outcome]


def answer_reply(api: PullRequestApi, args: argparse.Namespace, event: ConversationEvent, thread: Thread,
                 prior: Prior, state: conv.State, login: str, out: Report, title: str, skip: Skip,
                 connect: Connect) -> Outcome:
    """Answer the reply `event` in the bot's `thread` once (see the module docstring)."""
    root = thread.comment.id
    if root in state.argued:
        return skip("the bot answered in this thread already; it answers once per thread", "already-answered")
    if getattr(args, "dry_run", False):                  # --dry-run: no model call, nothing posted
        return skip(f"dry run: the reply in the thread of {thread.fingerprint[:12]} would get one answer "
                    "(one model call); nothing called or posted", "dry-run")
    cloud = args.provider not in (None, "anthropic")
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or None
    if not api_key and not cloud:
        return skip("no ANTHROPIC_API_KEY: the question in the thread is not answered", "no-api-key")
    pull = api.pull()
    read = read_pull(api, pull, args.config)
    config = with_overrides(read.config, model=args.model, warmup=args.warmup, **providers.overrides(args))
    target = providers.resolve(config, os.environ)
    config = providers.apply(config, target)
    if cloud or target.platform.name != "anthropic":
        providers.check_credentials(target, os.environ, getattr(args, "aws_profile", None))
    change = read.change(pull, event.repository, prior_lines(prior))
    out.known = known_secrets(change)
    api.redact_with(out.known)             # the answer passes the redaction gate like every post
    # the thread as the model reads it: the bot's comments and those of people with write access only
    heard = tuple(c for c in thread.replies if c.author == login or c.id == event.comment_id
                  or c.association.upper() in TRUSTED_ASSOCIATIONS)
    finding, comments = conv.thread_for_model(thread.comment.body, (thread.comment, *heard))
    where = f"{thread.comment.path}:{thread.comment.line}" if thread.comment.line else thread.comment.path
    with tempfile.TemporaryDirectory(prefix="reviewbot-answer-") as tmp:
        _, prefix = prepare(change, config, Path(tmp) / "ws")
    request = build_answer_request(prefix, answer_delta(finding, comments[1:], thread.specialist, where),
                                   config.max_output_tokens)
    record, content = asyncio.run(_call(request, config, api_key, target, out, connect))
    out.say(f"{title}: {answer_usage_line(record)}", always=True)
    answer = read_answer(content)
    if isinstance(answer, str):
        status = f"no answer posted in the thread of {thread.fingerprint[:12]}: {answer}"
        out.say(f"{title}: {status}", always=True)
        out.finish(title, status + ".", outputs(findings=0, new=0, highest_severity="none", calls=(record,),
                                                skipped="no-answer"))
        return Outcome(EXIT_OK)
    withdrawn = answer.finding == "withdrawn"
    text = prose(answer.reply).strip() + "\n\n" + (
        "I withdraw this finding: it will not be reported again on this pull request." if withdrawn else
        "The finding stands. I answer once per thread; reply \"won't fix\" or \"false positive\" to close it.")
    body = conv.answer(text, event.comment_id, suppress=(thread.fingerprint,) if withdrawn else (), thread=root)
    if getattr(args, "no_post", False):                  # --no-post: the paid answer, printed, not posted
        sys.stdout.write(outgoing(body, out.known) + "\n")
        out.finish(title, "No post: the answer is printed, not posted.",
                   outputs(findings=0, new=0, highest_severity="none", calls=(record,), skipped="no-post"),
                   answer_usage_line(record))
        return Outcome(EXIT_OK)
    key = f'"re":{event.comment_id}'

    def landed() -> PostedComment | None:
        return next((c for c in api.review_comments() if c.author == login and key in c.body), None)
    api.reply(root, body, landed)
    if withdrawn and thread.node and not thread.resolved:
        try:
            api.resolve_thread(thread.node)
        except APIError:
            pass                  # a token without contents: write; the finding is suppressed either way
    status = (f"answered {event.login} in the thread of {thread.fingerprint[:12]}: finding "
              + ("withdrawn (suppressed)" if withdrawn else "stands"))
    out.say(f"{title}: {status}", always=True)
    out.finish(title, status + ".", outputs(findings=0, new=0, highest_severity="none", calls=(record,)),
               answer_usage_line(record))
    return Outcome(EXIT_OK)


async def _call(request: Request, config: Config, api_key: str | None, target: providers.Target,
                out: Report, connect: Connect) -> tuple[CallRecord, list[dict[str, Any]]]:
    async with connect(Connection.of(config, api_key, target)) as transport:
        runner = Runner(Metered(transport, out.progress), out.progress,
                        Budget(config.budget_calls, config.budget_tokens, config.budget_dollars),
                        max_retries=config.max_retries)
        record, content = await runner.send(request, LABEL)
    return record, list(content)
