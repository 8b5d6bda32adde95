"""Refresh the benchmark in README.md in one command: run `reviewbot bench` over the corpus with
`--out docs` (docs/bench.md, docs/bench.json, docs/bench.png), then replace the block between the
README's bench markers with docs/bench.md, its headings one level down, under a line that gives the
command and how long it took. Outside the wheel, like tools/scale.py; it needs ../shared (the
corpus and cachesim) and the `bench` extra (matplotlib).

    python tools/bench_readme.py                      # every corpus PR at real speed (~7 minutes)
    python tools/bench_readme.py -- --time-scale 0.1  # anything after -- goes to `reviewbot bench`

The splice (`splice`) is pure; the rest runs the bench as a child process and writes the README.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start (tools/bench_readme.py) -->", "<!-- bench:end -->"


def demoted(md: str) -> str:
    """bench.md with its title a bold line and its headings one level down (it sits in a ## section)."""
    out = []
    for line in md.splitlines():
        if line.startswith("## "):
            out.append(f"**{line[3:]}**")
        elif line.startswith("#"):
            out.append("#" + line)
        else:
            out.append(line)
    return "\n".join(out).strip("\n")


def splice(readme: str, md: str, command: str, seconds: float) -> str:
    """`readme` with the text between START and END replaced by the run's tables (ValueError when the
    markers are missing or out of order)."""
    a, b = readme.find(START), readme.find(END)
    if a < 0 or b < a:
        raise ValueError(f"README.md has no {START} ... {END} block")
    block = (f"Produced by `{command}` in {seconds / 60:.0f} minutes ({seconds:.0f} s) and copied here by "
             f"`python tools/bench_readme.py`; also in [docs/bench.md](docs/bench.md) and "
             f"[docs/bench.json](docs/bench.json).\n\n{demoted(md)}\n")
    return readme[:a + len(START)] + "\n" + block + readme[b:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    p.add_argument("--cachesim", type=Path, default=ROOT.parent / "shared" / "cachesim" / "server.py")
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("extra", nargs="*", help="after --: more flags and the entries for reviewbot bench")
    args = p.parse_args(argv)
    readme = args.readme.read_text(encoding="utf-8")
    splice(readme, "", "", 0.0)                                  # the markers are there: fail before the run
    bench = ["reviewbot", "bench", "--corpus", _shown(args.corpus), "--cachesim", _shown(args.cachesim),
             "--out", _shown(args.out), *args.extra]
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reviewbot.bench", *bench[2:]], cwd=ROOT, check=False)
    seconds = time.monotonic() - t0
    if done.returncode != 0:
        print(f"bench_readme: reviewbot bench exited {done.returncode}; README.md left as it was", file=sys.stderr)
        return done.returncode
    md = (args.out / "bench.md").read_text(encoding="utf-8")
    args.readme.write_text(splice(readme, md, " ".join(bench), seconds), encoding="utf-8")
    print(f"bench_readme: README.md refreshed from {args.out / 'bench.md'} ({seconds:.0f} s)", file=sys.stderr)
    return 0


def _shown(path: Path) -> str:
    """The path as the README shows it: relative to the repository when it can be."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(Path("..") / path.resolve().relative_to(ROOT.parent)) if ROOT.parent in path.resolve().parents \
            else str(path)


if __name__ == "__main__":
    sys.exit(main())
