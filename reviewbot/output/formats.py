"""The names of the output formats, light to import (the flags of `reviewbot review` and `reviewbot
github` list them without importing the renderers). reviewbot.output.render maps each to its
renderer; tests/test_architecture.py checks that the two agree.
"""

FORMAT_NAMES: tuple[str, ...] = ("json", "markdown", "sarif")
MACHINE_FORMATS = frozenset({"json", "sarif"})      # never mixed with progress; always a document
