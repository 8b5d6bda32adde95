"""What reaches the terminal: the review on stdout, progress on stderr.

`write_review` prints a rendered review. Markdown on a terminal (stdout is a TTY) is rendered with
rich (headings, lists, code blocks; NO_COLOR and TERM=dumb are honoured by rich); anywhere else (a
pipe, a file, CI logs) the plain markdown goes out byte for byte, as do the machine formats, which
are never touched. Hyperlinks are printed as text, not as terminal escape sequences, since the text
comes from the model and the PR.

`ProgressPrinter` is the one progress printer of every command (review, github, eval): it takes the
typed events of reviewbot.domain.events and prints one line each on stderr: which reviewer started,
which file it reads, when it is done and with how many findings, and the run's cost so far. What is
shown is decided by the event's type (`level_of`): quiet prints nothing, normal everything but the
shared prefix's hash and the API calls, verbose everything. Every line is redacted (`known`: the
secrets found in the change; and secret-shaped text): a file name or a note can carry a credential.
`describe` is the line of one event alone (bench logs it).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO, assert_never

from reviewbot.domain.events import (
    AgentFailed,
    AgentFinished,
    AgentRefused,
    AgentStarted,
    BatchEnded,
    BatchesSent,
    BatchFollowed,
    BatchReviewFailed,
    BatchSubmitted,
    CallFinished,
    CodeSearched,
    DeadlineReached,
    EvalCell,
    EvalCellScored,
    EvalFailed,
    EvalJudging,
    EvalReviewed,
    EvalReviewing,
    EvalReviewReused,
    EvalScored,
    EvalStarted,
    Event,
    FileRead,
    KeepWarm,
    LeaderFailed,
    ManipulationFound,
    OfReview,
    Pacing,
    PrefixBuilt,
    RangesSkipped,
    RelatedCodeAdded,
    RelatedCodeUnavailable,
    Resumed,
    SecretsFound,
    StreamRetried,
    SummarySkipped,
    TokensCounting,
)
from reviewbot.domain.usage import Usage
from reviewbot.output.safety import clean
from reviewbot.secrets import redact_output

QUIET, NORMAL, VERBOSE = 0, 1, 2


def write_review(text: str, fmt: str, stream: TextIO) -> None:
    """The review on `stream`: rich-rendered when it is markdown going to a terminal, else as is."""
    if fmt == "markdown" and _isatty(stream):
        from rich.console import Console  # imported only for a terminal
        from rich.markdown import Markdown
        Console(file=stream, highlight=False).print(Markdown(text, hyperlinks=False))
    else:
        stream.write(text)
    stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):       # closed or not a real file
        return False


def progress_level(quiet: bool, verbose: bool) -> int:
    """The progress level of the -q/-v flags, the same for every command."""
    return QUIET if quiet else VERBOSE if verbose else NORMAL


def level_of(event: Event) -> int:
    """The lowest level that shows `event`: the prefix's hash and each API call only with -v (an event
    of one review among several, as the event itself)."""
    if isinstance(event, OfReview):
        return level_of(event.event)
    return VERBOSE if isinstance(event, PrefixBuilt | CallFinished) else NORMAL


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _call(e: CallFinished) -> str:
    u = e.usage
    extra = f" ({u.thinking_tokens:,} thinking)" if u.thinking_tokens else ""
    miss = ""
    if e.cache_miss:
        lost = e.cache_miss.get("cache_missed_input_tokens")
        miss = f", diagnostics: {e.cache_miss.get('type')}" + (f" ({lost:,} tokens not reused)"
                                                               if lost is not None else "")
    stop = f", {e.stop_reason}" if e.stop_reason in ("refusal", "max_tokens") else ""
    return (f"{u.input_tokens:,} input, {u.cache_write:,} cache write, {u.cache_read:,} cache read, "
            f"{u.output_tokens:,} output{extra}, ${e.cost:.4f}{miss}{stop}")


def describe(event: Event) -> str:
    """The line that tells what happened (without the running cost the printer adds)."""
    match event:
        case PrefixBuilt(sha256):
            return f"shared prefix sha256 {sha256}"
        case RelatedCodeAdded(shown, tokens, budget, omitted):
            return f"related code: {shown} snippet(s), ~{tokens} tokens (budget {budget}; {omitted} left out)"
        case RelatedCodeUnavailable(reason):
            return reason
        case Resumed(agents, workspace):
            return f"resume: reusing {', '.join(agents)} from {workspace}"
        case AgentStarted(agent):
            return f"{agent}: started"
        case AgentFinished(agent, findings):
            return f"{agent}: done with {findings} finding(s)"
        case AgentFailed(agent, error):
            return f"{agent}: failed: {error}"
        case LeaderFailed(agent, not_started):
            return (f"{agent}: the first call failed before its first event; the other {not_started} "
                    "reviewer(s) were not started")
        case DeadlineReached():
            return f"deadline: {event.reason}"
        case SecretsFound(count):
            return f"secret-scan: {count} possible secret(s) in added lines"
        case ManipulationFound(count):
            return f"injection-scan: {count} manipulation attempt(s) in the change"
        case SummarySkipped():
            return "summary: not run (nothing to verify)"
        case AgentRefused(agent, model, category, fallback_model):
            return f"{agent}: refused by {model} (category: {category or 'unspecified'}); retrying on {fallback_model}"
        case FileRead(agent, path):
            return f"{agent}: read {path}"
        case CodeSearched(agent, tool, pattern):
            return f"{agent}: {tool} {pattern!r}"
        case Pacing(seconds):
            return f"pacing: waiting {seconds:.1f}s for the input-tokens-per-minute limit"
        case StreamRetried(label, error, attempt, max_retries):
            return f"{label}: {error}; retrying ({attempt}/{max_retries})"
        case KeepWarm():
            return "keep-warm: refreshing the shared prefix before it expires"
        case CallFinished():
            return f"call: {_call(event)}"
        case TokensCounting(requests, None):
            return f"dry run: counting the tokens of the shared prefix and {requests} request(s)"
        case TokensCounting(requests, platform):
            return (f"dry run: {platform} has no count_tokens endpoint: estimating the tokens of the shared prefix "
                    f"and {requests} request(s) locally")
        case EvalStarted(prs, cells, judge_model, out):
            return f"eval: {prs} PR(s) x {cells} cell(s), judge {judge_model}, results in {out}"
        case EvalCell(label):
            return f"eval: cell {label}"
        case EvalReviewReused(pr, findings):
            return f"eval: {pr}: review reused ({findings} finding(s))"
        case EvalReviewing(pr, files, cell):
            return f"eval: {pr}: reviewing ({files} file(s), {cell})"
        case EvalReviewed(pr, findings, cost):
            return f"eval: {pr}: {findings} finding(s), ${cost:.4f}"
        case EvalJudging(pr, findings, golden):
            return f"eval: {pr}: judging {findings} finding(s) against {golden} golden comment(s)"
        case EvalScored(pr, found, golden, tp, fp):
            return f"eval: {pr}: found {found}/{golden}, {tp} true / {fp} false positive(s)"
        case EvalFailed(pr, error):
            return f"eval: {pr}: {error}"
        case EvalCellScored(label, precision, recall, f1, review_cost, judge_cost):
            return (f"eval: {label}: precision {_pct(precision)}, recall {_pct(recall)}, F1 {_pct(f1)}; "
                    f"reviewing ${review_cost:.4f}, judging ${judge_cost:.4f}")
        case BatchSubmitted(batch_id, requests):
            return f"batch {batch_id}: {requests} request(s) submitted"
        case BatchFollowed(batch_id, requests):
            return f"batch {batch_id}: {requests} request(s) sent by an earlier run, followed (not sent again)"
        case BatchEnded(batch_id, seconds, succeeded, errored, expired, canceled):
            return (f"batch {batch_id}: ended after {seconds:.1f}s ({succeeded} succeeded, {errored} errored, "
                    f"{expired} expired, {canceled} canceled)")
        case BatchReviewFailed(error):
            return f"every batch item failed: {error}"
        case BatchesSent(batches):
            return f"{len(batches)} batch(es): " + ", ".join(f"{b} ({n} item(s))" for b, n in batches)
        case RangesSkipped(ranges):
            return f"nothing to review in {', '.join(ranges)}: skipped"
        case OfReview(review, inner):
            return f"{review}: {describe(inner)}"
        case _:
            assert_never(event)


class ProgressPrinter:
    """The `on_event` callback of a run: one line per event shown at `level` on `stream` (stderr),
    with the running cost of the API calls seen so far."""

    def __init__(self, stream: TextIO, level: int = NORMAL, clock: Callable[[], float] = time.monotonic,
                 known: tuple[str, ...] = ()):
        self.stream, self.level, self.clock, self.known = stream, level, clock, known
        self.t0 = clock()
        self.calls = 0
        self.usage = Usage()
        self.cost = 0.0

    def _print(self, text: str) -> None:
        line = redact_output(clean(text).replace(chr(10), " "), self.known)      # one line each
        print(f"reviewbot: {line}", file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallFinished):        # counted at every level: the running cost
            self.calls += 1
            self.usage += event.usage
            self.cost += event.cost
        if self.level < level_of(event):
            return
        match event:
            case AgentFinished() | AgentFailed():
                self._print(f"{describe(event)} ({self.so_far()})")
            case CallFinished():
                self._print(f"call {self.calls} after {self.clock() - self.t0:.1f}s: {_call(event)} "
                            f"({self.so_far()})")
            case _:
                self._print(describe(event))

    def so_far(self) -> str:
        return f"{self.calls} call{'s' if self.calls != 1 else ''}, ${self.cost:.4f} so far"
