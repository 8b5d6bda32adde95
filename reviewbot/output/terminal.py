"""What reaches the terminal: the review on stdout, progress on stderr.

`write_review` prints a rendered review. Markdown on a terminal (stdout is a TTY) is rendered with
rich (headings, lists, code blocks; NO_COLOR and TERM=dumb are honoured by rich); anywhere else (a
pipe, a file, CI logs) the plain markdown goes out byte for byte, as do the machine formats, which
are never touched. Hyperlinks are printed as text, not as terminal escape sequences, since the text
comes from the model and the PR.

`ProgressPrinter` turns the orchestrator's events into one line each on stderr: which reviewer
started, which file it reads, when it is done and with how many findings, and the run's cost so far.
Quiet prints nothing; verbose adds the shared prefix's hash and one line per API call. Every line
is redacted (`known`: the secrets found in the change; and secret-shaped text): a file name or a
note can carry a credential too.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TextIO

from reviewbot.llm.usage import Usage, cost
from reviewbot.output.safety import clean
from reviewbot.secrets import redact_output

QUIET, NORMAL, VERBOSE = 0, 1, 2
_DONE = re.compile(r"^(?P<who>[\w-]+): (done with \d+ finding|failed: |ok$|failed$)")
_VERBOSE_ONLY = ("shared prefix sha256 ",)


def write_review(text: str, fmt: str, stream: TextIO) -> None:
    """The review on `stream`: rich-rendered when it is markdown going to a terminal, else as is."""
    if fmt == "markdown" and _isatty(stream):
        from rich.console import Console  # imported only for a terminal
        from rich.markdown import Markdown
        Console(file=stream, highlight=False).print(Markdown(text, hyperlinks=False))
    else:
        stream.write(text)
    stream.flush()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):       # closed or not a real file
        return False


class ProgressPrinter:
    """One line per event on `stream` (stderr), with the running cost of the API calls seen so far."""

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

    def event(self, msg) -> None:
        """The orchestrator's on_event callback (a str; anything else is shown via str())."""
        if self.level <= QUIET:
            return
        msg = str(msg)
        if msg.startswith(_VERBOSE_ONLY) and self.level < VERBOSE:
            return
        if _DONE.match(msg):
            msg += f" ({self.so_far()})"
        self._print(msg)

    def so_far(self) -> str:
        return f"{self.calls} call{'s' if self.calls != 1 else ''}, ${self.cost:.4f} so far"

    def call(self, model: str, usage: Usage, cache_miss: dict | None = None, billed: bool = True,
             stop_reason: str = "") -> None:
        """One API call finished (reported by the transport); verbose shows it, with its thinking tokens
        and the API's cache miss reason when it gave one."""
        self.calls += 1
        self.usage += usage
        c = cost(usage, model) if billed else 0.0
        self.cost += c
        if self.level >= VERBOSE:
            extra = f" ({usage.thinking_tokens:,} thinking)" if usage.thinking_tokens else ""
            miss = ""
            if cache_miss:
                lost = cache_miss.get("cache_missed_input_tokens")
                miss = f", diagnostics: {cache_miss.get('type')}" + (f" ({lost:,} tokens not reused)"
                                                                     if lost is not None else "")
            stop = f", {stop_reason}" if stop_reason in ("refusal", "max_tokens") else ""
            self._print(f"call {self.calls} after {self.clock() - self.t0:.1f}s: {usage.input_tokens:,} input, "
                        f"{usage.cache_write:,} cache write, {usage.cache_read:,} cache read, "
                        f"{usage.output_tokens:,} output{extra}, ${c:.4f}{miss}{stop} ({self.so_far()})")
