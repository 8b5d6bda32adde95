"""The edge to cachesim: start the server as a subprocess, read its ledger, reset it, load analyze.py.

cachesim is not a package: its analyze.py (the oracle and the ledger summary) is loaded from the
cachesim directory with importlib, so the bench computes with the simulator's own definitions and
never a copy of them. Everything here does I/O; the numbers are computed in reviewbot.bench.metrics.
"""
from __future__ import annotations

import importlib.util
import json
import re
import selectors
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from reviewbot.errors import APIError, ConfigError

_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True)
class Latency:
    """cachesim's latency model: time to first token = ttft_base + (uncached input + cache writes) /
    prefill_tps seconds, then output tokens (thinking included) / output_tps, all times time_scale."""

    ttft_base: float
    prefill_tps: float
    output_tps: float

    def argv(self) -> list[str]:
        return ["--ttft-base", str(self.ttft_base), "--prefill-tps", str(self.prefill_tps),
                "--output-tps", str(self.output_tps)]


# Today's models at the speed the API serves them (README, "Benchmark: cost and latency", for the
# sources): about 60 output tokens/s, 1.8 s to the first token on a 10,000-token prompt. cachesim's
# own defaults (0.05 s, 200,000 and 2,000 tokens/s) are 20-40 times faster, fine where time is no
# figure of the run (the comparison passes) but not for wall time against the critical path.
REALISTIC = Latency(ttft_base=0.8, prefill_tps=10_000.0, output_tps=60.0)


def load_analyze(cachesim_dir: Path) -> ModuleType:
    """cachesim's analyze.py as a module (it needs `summarize` and `oracle_cost`)."""
    path = cachesim_dir / "analyze.py"
    if not path.is_file():
        raise ConfigError(f"cachesim's analyze.py not found in {cachesim_dir} (give --cachesim PATH/server.py)")
    spec = importlib.util.spec_from_file_location("cachesim_analyze", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path} cannot be loaded as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [name for name in ("summarize", "oracle_cost") if not hasattr(module, name)]
    if missing:
        raise ConfigError(f"{path} has no {missing[0]}(): not cachesim's analyze.py?")
    return module


class Cachesim:
    """A running cachesim at `url`: its ledger and its reset (stdlib HTTP; constructing does no I/O)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _call(self, path: str, data: bytes | None = None) -> dict[str, Any]:
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise APIError(f"cachesim at {self.url}: {path} answered {e.code}: is it cachesim?") from None
        except (urllib.error.URLError, OSError) as e:
            raise APIError(f"cannot reach cachesim at {self.url}: {getattr(e, 'reason', e)}") from None
        except json.JSONDecodeError:
            raise APIError(f"cachesim at {self.url}: {path} did not answer JSON: is it cachesim?") from None
        if not isinstance(answer, dict):
            raise APIError(f"cachesim at {self.url}: {path} did not answer a JSON object: is it cachesim?")
        return answer

    def ledger(self) -> list[dict[str, Any]]:
        requests = self._call("/_ledger").get("requests")
        if not isinstance(requests, list):
            raise APIError(f"cachesim at {self.url}: /_ledger has no 'requests' list")
        return requests

    def reset(self) -> None:
        self._call("/_reset", b"{}")


@contextmanager
def started(server: Path, time_scale: float | None = None, startup_timeout: float = 20.0,
            latency: Latency | None = None) -> Iterator[str]:
    """Run `python server.py --port 0` (a free port) until the block exits; yields its base URL.
    `latency` None: cachesim's own latency model; `time_scale` multiplies it."""
    if not server.is_file():
        raise ConfigError(f"cachesim server not found: {server} (give --cachesim PATH/server.py or --api-url URL)")
    server = server.resolve()                      # it runs with its own directory as the working directory
    argv = [sys.executable, str(server), "--host", "127.0.0.1", "--port", "0"]
    if time_scale is not None:
        argv += ["--time-scale", str(time_scale)]
    if latency is not None:
        argv += latency.argv()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=server.parent)
        try:
            yield _wait_listening(proc, errors, startup_timeout)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _wait_listening(proc: subprocess.Popen[str], errors: IO[str], timeout: float) -> str:
    out = proc.stdout
    if out is None:
        raise APIError("cachesim did not start: no output pipe")
    with selectors.DefaultSelector() as sel:
        sel.register(out, selectors.EVENT_READ)
        line = out.readline() if sel.select(timeout) else ""
    found = _LISTENING.search(line)
    if found:
        return found.group(1)
    errors.seek(0)
    last = (errors.read().strip().splitlines() or [line.strip() or f"no answer within {timeout:.0f}s"])[-1]
    raise APIError(f"cachesim did not start: {last[:200]}")
