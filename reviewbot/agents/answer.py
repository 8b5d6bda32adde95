"""The answer_thread tool: how the model answers a person's reply in one of the bot's threads.

`ThreadAnswer` is both the schema the model sees (the tool's input_schema) and the validation of
what it sends. The tool is part of the one tool list every request of a review carries (agents.tools),
so the answer call reads the same cached prefix as the specialists; its name does not start with
submit/report/finish, so it never looks like the reviewers' terminal tool. Pure: imports nothing else
from reviewbot (agents.tools imports it).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ANSWER_NAME = "answer_thread"
MAX_REPLY = 3000


class ThreadAnswer(BaseModel):
    """The one answer in a thread: the reply, and whether the finding stands."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reply: str = Field(min_length=1, max_length=MAX_REPLY,
                       description="Your answer to the person, in markdown: answer the question or the objection "
                                   "directly, citing the code. Said once: the bot never answers twice in a thread.")
    finding: Literal["stands", "withdrawn"] = Field(
        description="stands: the finding is right as reported; withdrawn: the person is right and the finding "
                    "should not have been raised (it is then never reported again on this pull request).")


ANSWER_THREAD: dict[str, Any] = {
    "name": ANSWER_NAME,
    "description": (
        "Only when asked to answer a reply in one of your review threads (never in a review): answer the "
        "person's question or disagreement once. Say whether the finding stands or is withdrawn."),
    "input_schema": ThreadAnswer.model_json_schema(),
}


def parse_answer(data: object) -> ThreadAnswer | str:
    """The answer, or one line saying why the tool input is not one."""
    try:
        return ThreadAnswer.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        return f"{'.'.join(str(x) for x in err['loc']) or 'input'}: {err['msg']}"
