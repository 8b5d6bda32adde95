"""Start the shared simulators as subprocesses for the few tests that need live timing.

Timing behaviour (the cache expiring while a phase runs, keep-warm calls) cannot be replayed from
a cassette, so these tests talk to a real cachesim on a free loopback port. They are skipped, with
the reason, where ../shared/cachesim is not beside the repository (a user's clone).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CACHESIM = SHARED / "cachesim" / "server.py"


GHSIM = SHARED / "ghsim" / "server.py"


@contextmanager
def serve(script: Path, *flags: str, port: str = "0"):
    """One of the shared simulators (`script`) on `port` (0: a free loopback port), until the block
    ends; its base URL. Skips the test where ../shared is not beside the repository."""
    if not script.is_file():
        pytest.skip(f"{script.parent.name} not found at {script}")
    proc = subprocess.Popen([sys.executable, str(script), "--port", port, *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://[\d.]+:\d+", line)
        if not m:
            raise RuntimeError(f"{script.parent.name} did not start: {line!r}")
        yield m.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cachesim(*flags: str):
    """cachesim on a free loopback port; its base URL."""
    return serve(CACHESIM, *flags)


def ghsim(*flags: str):
    """ghsim on a free loopback port, serving the flags' pull requests; its base URL."""
    return serve(GHSIM, *flags)


def ledger(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/_ledger", timeout=10) as r:
        return json.load(r)["requests"]
