"""One module per subcommand; each has `register(subparsers)` and sets `run` on its parser."""

COMMANDS = ("review", "bulk", "bench", "github", "eval")
