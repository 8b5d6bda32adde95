"""Re-record every cassette of the suite in one command.

    python tests/rerecord.py                 # from the repository root
    python tests/rerecord.py -k test_github  # only some tests (extra arguments go to pytest)
    python tests/rerecord.py --ports 18712,18711,18713   # fixed ports: cachesim, ghsim (default 18771), the second ghsim

Starts cachesim (../shared/cachesim) and two ghsim (../shared/ghsim, with the test PR and the made-up
tokens of tests/data/github/README.md; the second with --max-patch-lines 12, GitHub omitting a
patch) on free loopback ports, runs the tests that own a cassette
with REVIEWBOT_RECORD=1 pointed at them, and stops both. Each recording test resets the simulators
first (POST /_reset), so they are this script's own and nobody else's. Run it after any change to
the prompts, the request layout, the default model or the config defaults, then the suite offline.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The tests that record cassettes (each writes tests/cassettes/<its names>.yaml).
RECORDING_TESTS = ["tests/test_e2e_review.py", "tests/test_e2e_faults.py", "tests/test_dry_run.py",
                   "tests/test_cli.py", "tests/test_github_e2e.py", "tests/test_live_api.py",
                   "tests/test_github_faults.py", "tests/test_eval_e2e.py", "tests/test_github_talk.py"]
TOKENS = ["ghs_rbTestWrite=write", "ghs_rbTestRead=read", "ghp_rbTestAlice=write@alice", "ghs_rbEvalRead=read",
          "ghs_rbTestNoContents=contents:read,pull_requests:write"]


def _start(args: list[str], what: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT)
    line = proc.stdout.readline()
    m = re.search(r"http://[\d.]+:\d+", line)
    if not m:
        proc.kill()
        sys.exit(f"rerecord: {what} did not start: {line.strip()!r}")
    return proc, m.group(0)


def main(argv: list[str]) -> int:
    # ghsim on 18771: the eval tests replay its answers (their URLs) at that address; the GitHub tests
    # rewrite whatever address they recorded to theirs.
    ports = ["0", "18771", "0"]
    if argv[:1] == ["--ports"]:
        ports, argv = argv[1].split(","), argv[2:]
    cachesim, ghsim = SHARED / "cachesim" / "server.py", SHARED / "ghsim" / "server.py"
    for f in (cachesim, ghsim):
        if not f.is_file():
            sys.exit(f"rerecord: {f} not found (the simulators live in ../shared beside the repository)")
    gh_args = [str(ghsim), "--port", ports[1], "--pr", "tests/data/github/widgets-7.bundle"]
    for t in TOKENS:
        gh_args += ["--token", t]
    small_args = [str(ghsim), "--port", ports[2], "--pr", "tests/data/github/widgets-7.bundle",
                  "--token", "ghs_rbTestWrite=write", "--max-patch-lines", "12"]
    procs = []
    try:
        cs, cs_url = _start([str(cachesim), "--port", ports[0]], "cachesim")
        procs.append(cs)
        gh, gh_url = _start(gh_args, "ghsim")
        procs.append(gh)
        small, small_url = _start(small_args, "ghsim (--max-patch-lines 12)")
        procs.append(small)
        print(f"rerecord: cachesim {cs_url}, ghsim {gh_url}, ghsim (small patches) {small_url}", flush=True)
        env = dict(os.environ, REVIEWBOT_RECORD="1", ANTHROPIC_BASE_URL=cs_url, REVIEWBOT_GHSIM_URL=gh_url,
                   REVIEWBOT_GHSIM_SMALL_URL=small_url, ANTHROPIC_API_KEY="rerecord-" + "key")
        return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                *RECORDING_TESTS, *argv], cwd=ROOT, env=env)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
