"""The batch journal: which Message Batch carried which request, so that a batch run killed half-way
(a CI job's time limit, Ctrl-C, a lost machine) pays nothing twice when it is run again.

A Message Batch goes on after the process that created it is gone (up to 24 hours), and its results
stay readable for 29 days. A batch item's custom_id is a hash of its request
(reviewbot.pipeline.batch.custom_id), and the requests of a re-run on the same changes and
configuration are the same bytes: round 1 because it is built from them alone, every later round
because it is built from the results of the one before, which the re-run reads from the same batches.
So the journal only has to say, for each custom_id sent, which batch it went in: the queue follows
that batch instead of sending the request again (reviewbot.pipeline.batch.BatchQueue).

The file is `batches.jsonl` in the run's state directory, one line per batch, written and flushed to
disk as soon as the API has accepted the batch (before the first poll): {"batch": id, "items": [custom
ids]}. It holds hashes and batch ids, nothing of the change. A line cut short by a kill (the last one,
without its newline) is ignored and cut off when the journal is next opened (its items are sent
again: the one case that pays twice); any other unreadable line is an InputError, since this run
cannot tell what it would pay again. While a run has the journal open it holds an exclusive lock on it, so
two runs on one state directory cannot both send what the other is sending (the second stops with
an InputError; the lock goes with the process, so a killed run leaves none behind).
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from reviewbot.errors import InputError

JOURNAL_FILE = "batches.jsonl"

try:                                      # POSIX; elsewhere the journal works without the lock
    import fcntl
except ImportError:                       # pragma: no cover - not on the CI's platforms
    fcntl = None  # type: ignore[assignment]


def parse_journal(text: str, where: str) -> dict[str, str]:
    """custom_id -> the batch that carried it (a later batch wins: a request sent again), from the
    journal's text. Pure."""
    sent: dict[str, str] = {}
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            batch, items = entry["batch"], entry["items"]
            if not isinstance(batch, str) or not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            if n == len(lines):           # the last line, without its newline: cut short by a kill
                continue
            raise InputError(f"{where}: line {n} is not a batch journal entry; delete the file to send "
                             "every request again") from None
        sent.update(dict.fromkeys(items, batch))
    return sent


def journal_line(batch_id: str, custom_ids: Iterable[str]) -> str:
    """One batch's line (the only serialiser of an entry). Pure."""
    return json.dumps({"batch": batch_id, "items": list(custom_ids)}, separators=(",", ":")) + "\n"


class BatchJournal:
    """The journal of one state directory for the length of a run: opened (read and locked) by `with`,
    or by its first use (`sent`, `record`) when the directory is only made during the run (a kept
    workspace); the constructor does no I/O."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / JOURNAL_FILE
        self._sent: dict[str, str] = {}
        self._file: IO[str] | None = None

    def open(self) -> None:
        """Read and lock the journal (once; InputError when another run holds it)."""
        if self._file is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self.path.open("a+", encoding="utf-8")
        except OSError as e:
            raise InputError(f"cannot open the batch journal {self.path}: {e.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                raise InputError(f"{self.path.parent} is the state directory of another reviewbot run that is "
                                 "still going; wait for it, or give this run another --state-dir") from None
        f.seek(0)
        try:
            text = f.read()
            self._sent = parse_journal(text, str(self.path))
            if text and not text.endswith("\n"):      # a line cut short by a kill: dropped
                f.truncate(len(text[:text.rfind("\n") + 1].encode("utf-8")))
        except BaseException:
            f.close()
            raise
        self._file = f

    def close(self) -> None:
        if self._file is not None:
            self._file.close()            # closing releases the lock
            self._file = None

    def __enter__(self) -> BatchJournal:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def sent(self, custom_ids: Iterable[str]) -> dict[str, list[str]]:
        """The batches of an earlier run (or an earlier round) that carried some of `custom_ids`:
        batch id -> its custom_ids among them, in the order given."""
        self.open()
        out: dict[str, list[str]] = {}
        for cid in custom_ids:
            if cid in self._sent:
                out.setdefault(self._sent[cid], []).append(cid)
        return out

    def record(self, batch_id: str, custom_ids: Iterable[str]) -> None:
        """Write down that `batch_id` carries `custom_ids`, on disk before this returns."""
        cids = list(custom_ids)
        self.open()
        assert self._file is not None
        try:
            self._file.write(journal_line(batch_id, cids))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise InputError(f"cannot write the batch journal {self.path}: {e.strerror}") from None
        self._sent.update(dict.fromkeys(cids, batch_id))



@contextlib.contextmanager
def journal_of(state_dir: Path | None) -> Iterator[BatchJournal | None]:
    """The open journal of `state_dir` for the length of a run; None without one."""
    if state_dir is None:
        yield None
        return
    with BatchJournal(state_dir) as journal:
        yield journal
