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


@contextmanager
def cachesim(*flags: str):
    if not CACHESIM.is_file():
        pytest.skip(f"cachesim not found at {CACHESIM}")
    proc = subprocess.Popen([sys.executable, str(CACHESIM), "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://[\d.]+:\d+", line)
        if not m:
            raise RuntimeError(f"cachesim did not start: {line!r}")
        yield m.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def ledger(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/_ledger", timeout=10) as r:
        return json.load(r)["requests"]


GHSIM = SHARED / "ghsim" / "server.py"


@contextmanager
def ghsim(*flags: str):
    """ghsim on a free loopback port, serving the flags' pull requests; its base URL."""
    if not GHSIM.is_file():
        pytest.skip(f"ghsim not found at {GHSIM}")
    proc = subprocess.Popen([sys.executable, str(GHSIM), "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://[\d.]+:\d+", line)
        if not m:
            raise RuntimeError(f"ghsim did not start: {line!r}")
        yield m.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
