"""Where the bench finds its corpus and cachesim by default: `../shared` beside the repository.
Light to import, so `reviewbot bench --help` can name them without loading the runner.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
DEFAULT_CACHESIM = REPO_ROOT.parent / "shared" / "cachesim" / "server.py"
