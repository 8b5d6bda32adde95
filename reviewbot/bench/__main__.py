"""`python -m reviewbot.bench ...` is `reviewbot bench ...` (same flags, errors and exit codes)."""
import sys

from reviewbot.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
