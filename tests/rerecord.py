"""Re-record every cassette of the suite in one command.

    python tests/rerecord.py                 # from the repository root
    python tests/rerecord.py -k test_github  # only some tests (extra arguments go to pytest)
    python tests/rerecord.py --ports 18712,18711,18713,18714   # fixed ports: cachesim, ghsim (default 18771), the
                                                               # second ghsim, the third (bulk)

Starts cachesim (../shared/cachesim) and three ghsim (../shared/ghsim, with the test PR and the made-up
tokens of tests/data/github/README.md; the second with --max-patch-lines 12, GitHub omitting a
patch; the third serving the test PR as acme/widgets#7 and #8, for `reviewbot bulk --github`) on free
loopback ports, runs the tests that own a cassette
with REVIEWBOT_RECORD=1 pointed at them, and stops them all. Each recording test resets the simulators
first (POST /_reset), so they are this script's own and nobody else's. Run it after any change to
the prompts, the request layout, the default model or the config defaults, then the suite offline.

It is a script, never collected by pytest, so the offline suite needs no ../shared: only re-recording
does. In a clone without ../shared beside it, it stops before starting anything, with a one-line
message naming the missing simulator (exit 1), and skips no test.
"""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from simulators import CACHESIM, GHSIM, serve  # tests/ is this script's directory

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = str(ROOT / "tests" / "data" / "github" / "widgets-7.bundle")
# The tests that record cassettes (each writes tests/cassettes/<its names>.yaml).
RECORDING_TESTS = ["tests/test_e2e_review.py", "tests/test_e2e_faults.py", "tests/test_dry_run.py",
                   "tests/test_cli.py", "tests/test_github_e2e.py", "tests/test_live_api.py",
                   "tests/test_github_faults.py", "tests/test_eval_e2e.py", "tests/test_github_talk.py",
                   "tests/test_batch_e2e.py", "tests/test_github_bulk.py"]
TOKENS = ["ghs_rbTestWrite=write", "ghs_rbTestRead=read", "ghp_rbTestAlice=write@alice", "ghs_rbEvalRead=read",
          "ghs_rbTestNoContents=contents:read,pull_requests:write"]


def main(argv: list[str]) -> int:
    # ghsim on 18771: the eval tests replay its answers (their URLs) at that address; the GitHub tests
    # rewrite whatever address they recorded to theirs.
    ports = ["0", "18771", "0", "0"]
    if argv[:1] == ["--ports"]:
        ports, argv = argv[1].split(","), argv[2:]
    for f in (CACHESIM, GHSIM):
        if not f.is_file():
            sys.exit(f"rerecord: {f} not found (the simulators live in ../shared beside the repository)")
    gh_flags = ["--pr", BUNDLE] + [x for t in TOKENS for x in ("--token", t)]
    small_flags = ["--pr", BUNDLE, "--token", "ghs_rbTestWrite=write", "--max-patch-lines", "12"]
    bulk_flags = ["--pr", f"acme/widgets#7={BUNDLE}", "--pr", f"acme/widgets#8={BUNDLE}", "--token",
                  "ghs_rbTestWrite=write"]
    with ExitStack() as running:
        try:
            cs_url = running.enter_context(serve(CACHESIM, port=ports[0]))
            gh_url = running.enter_context(serve(GHSIM, *gh_flags, port=ports[1]))
            small_url = running.enter_context(serve(GHSIM, *small_flags, port=ports[2]))
            bulk_url = running.enter_context(serve(GHSIM, *bulk_flags, port=ports[3]))
        except RuntimeError as e:                       # a port in use, a simulator that failed
            sys.exit(f"rerecord: {e}")
        print(f"rerecord: cachesim {cs_url}, ghsim {gh_url}, ghsim (small patches) {small_url}, ghsim (bulk) "
              f"{bulk_url}", flush=True)
        env = dict(os.environ, REVIEWBOT_RECORD="1", ANTHROPIC_BASE_URL=cs_url, REVIEWBOT_GHSIM_URL=gh_url,
                   REVIEWBOT_GHSIM_SMALL_URL=small_url, REVIEWBOT_GHSIM_BULK_URL=bulk_url, ANTHROPIC_API_KEY="rerecord-" + "key")
        return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                *RECORDING_TESTS, *argv], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
