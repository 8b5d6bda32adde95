"""Scale measurement: wall time and peak memory of whole reviews of large changes (issue 14).

Not part of the wheel and not a test (timings vary by machine). It builds git repositories in a
scratch directory, one per shape, and runs ``reviewbot review`` on each as a child process, with
``--dry-run`` (no model call; token counts from cachesim's count_tokens) and against cachesim
(``../shared/cachesim/server.py`` on a local port), recording wall time and the child's peak RSS
(``os.wait4``'s ``ru_maxrss``, the largest of the process and the children it waited for). Then it
prints the ratios against the targets:

* 3,000 changed files in one directory within 1.5x the time of 3,000 files over 30 directories;
* a 10 MB diff under 150 MB peak memory for the whole review.

    python tools/scale.py                     # all shapes, dry-run and cachesim (port 18760)
    python tools/scale.py --only dir1,huge --modes dry-run --json /tmp/scale.json

The shapes: ``dir1`` / ``dir30`` (3,000 modified files, ~6 changed lines each), and three 10 MB
diffs: ``small`` (~5,000 files of ~2 KB of diff each), ``huge`` (one added file of 10 MB), ``mixed``
(one 5 MB file plus ~2,500 small ones). ``--diff-mode`` reviews the same diffs with ``--diff FILE``.

Measured on the 2-core development machine (issue 14): peak RSS small / huge / mixed 132 / 109 / 124 MB
with --dry-run and 143 / 123 / 135 MB against cachesim (276-306 / 174-214 / 214-246 MB before the
lazy hunks, the streamed related-code reads and the streamed secret scans); 1 dir / 30 dirs time
ratio 1.00 (dry-run) and 0.97 (cachesim). Use a port of your own with ``--port`` when others run it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHESIM = ROOT.parent / "shared" / "cachesim" / "server.py"
MB = 1024 * 1024
SHAPES = ("dir1", "dir30", "small", "huge", "mixed")
TIME_RATIO_TARGET = 1.5
MEMORY_TARGET_MB = 150


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "scale", "GIT_AUTHOR_EMAIL": "scale@example.com",
           "GIT_COMMITTER_NAME": "scale", "GIT_COMMITTER_EMAIL": "scale@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "-C", str(repo), *args], check=True, input=stdin, env=env,
                   stdout=subprocess.DEVNULL)


def _source(i: int, lines: int, changed: bool) -> str:
    """A Python-looking file; `changed` edits every 10th line (so each file has a few hunks)."""
    out = []
    for n in range(lines):
        edit = changed and n % 10 == 5
        out.append(f"def f{i}_{n}(x):  # {'edited ' if edit else ''}line {n} of file {i}\n"
                   if n % 2 else f"    return x + {n * (2 if edit else 1)}\n")
    return "".join(out)


def _write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _files(shape: str, head: bool) -> dict[str, str]:
    """The tree of `shape` at the base (head=False) or at head."""
    if shape in ("dir1", "dir30"):
        folders = 1 if shape == "dir1" else 30
        return {f"src/d{i % folders:02d}/m{i:04d}.py": _source(i, 60, head) for i in range(3000)}
    small = {"small": 5000, "mixed": 2500}.get(shape, 0)
    files = {f"pkg/p{i % 50:02d}/s{i:04d}.py": _source(i, 40, head) for i in range(small)}
    if shape == "small" and head:           # ~2 KB of diff each: add a block to every file
        files = {k: v + _source(7, 24, False) for k, v in files.items()}
    if shape == "mixed" and head:
        files = {k: v + _source(7, 24, False) for k, v in files.items()}
    big = {"huge": 10 * MB, "mixed": 5 * MB}.get(shape, 0)
    if big and head:
        line = "value = compute(alpha, beta, gamma)  # a generated line of data\n"
        files["data/big_table.py"] = line * (big // len(line))
    return files


def build_repo(scratch: Path, shape: str) -> Path:
    repo = scratch / shape
    if (repo / ".git").is_dir():
        return repo
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, _files(shape, head=False) or {"README.md": "scale\n"})
    (repo / "README.md").write_text("scale\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "change")
    _write(repo, _files(shape, head=True))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"change: {shape}")
    diff = subprocess.run(["git", "-C", str(repo), "diff", "main...change"], check=True,
                          capture_output=True).stdout
    (scratch / f"{shape}.diff").write_bytes(diff)
    return repo


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB, exit code, last stderr line) of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return wall, usage.ru_maxrss / 1024, proc.returncode, lines[-1] if lines else ""


class Cachesim:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, str(CACHESIM), "--port", str(port), "--time-scale", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise SystemExit(f"cachesim did not start: {line!r}")

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/_reset", data=b"{}", method="POST",
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "reviewbot-scale")
    ap.add_argument("--only", default=",".join(SHAPES), help="comma-separated shapes")
    ap.add_argument("--modes", default="dry-run,cachesim", help="dry-run, cachesim or both")
    ap.add_argument("--diff-mode", action="store_true", help="review the diff files with --diff")
    ap.add_argument("--port", type=int, default=18760)
    ap.add_argument("--json", type=Path, help="write the measurements here as JSON")
    args = ap.parse_args()
    shapes = [s for s in args.only.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    args.scratch.mkdir(parents=True, exist_ok=True)
    sim = Cachesim(args.port)              # --dry-run counts tokens with the API's count_tokens
    env = {**os.environ, "ANTHROPIC_API_KEY": "scale-test", "NO_COLOR": "1", "ANTHROPIC_BASE_URL": sim.url}
    results = []
    try:
        for shape in shapes:
            t0 = time.perf_counter()
            repo = build_repo(args.scratch, shape)
            diff = args.scratch / f"{shape}.diff"
            size = diff.stat().st_size / MB
            print(f"{shape}: repository ready ({time.perf_counter() - t0:.1f}s, diff {size:.1f} MB)", file=sys.stderr)
            for mode in modes:
                ws = args.scratch / f"ws-{shape}-{mode}"
                shutil.rmtree(ws, ignore_errors=True)
                source = ["--diff", str(diff)] if args.diff_mode else ["--repo", str(repo), "--base", "main",
                                                                         "--head", "change"]
                cmd = [sys.executable, "-m", "reviewbot", "review", *source, "--format", "json", "-q",
                       "--keep-workspace", str(ws), *(["--dry-run"] if mode == "dry-run" else [])]
                sim.reset()
                wall, rss, code, last = run(cmd, env)
                row = {"shape": shape, "mode": mode, "diff_mb": round(diff.stat().st_size / MB, 2),
                       "seconds": round(wall, 2), "peak_rss_mb": round(rss, 1), "exit": code}
                results.append(row)
                print(f"  {mode:9s} {wall:7.2f}s  peak {rss:6.1f} MB  exit {code}" + (f"  ({last})" if code else ""),
                      file=sys.stderr)
                shutil.rmtree(ws, ignore_errors=True)
    finally:
        sim.stop()
    _verdicts(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _verdicts(results: list[dict[str, object]]) -> None:
    by = {(r["shape"], r["mode"]): r for r in results}
    for mode in ("dry-run", "cachesim"):
        one, thirty = by.get(("dir1", mode)), by.get(("dir30", mode))
        if one and thirty:
            ratio = float(one["seconds"]) / max(float(thirty["seconds"]), 1e-9)  # type: ignore[arg-type]
            ok = "ok" if ratio <= TIME_RATIO_TARGET else "MISSED"
            print(f"{mode}: 1 dir / 30 dirs time ratio {ratio:.2f} (target <= {TIME_RATIO_TARGET}) {ok}")
        for shape in ("small", "huge", "mixed"):
            r = by.get((shape, mode))
            if r:
                rss = float(r["peak_rss_mb"])  # type: ignore[arg-type]
                ok = "ok" if rss < MEMORY_TARGET_MB else "MISSED"
                print(f"{mode}: {shape} ({r['diff_mb']} MB diff) peak {rss:.0f} MB, {r['seconds']}s "
                      f"(target < {MEMORY_TARGET_MB} MB) {ok}")


if __name__ == "__main__":
    sys.exit(main())
