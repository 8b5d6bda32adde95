"""One module per subcommand, each light to import: `register(subparsers)` adds the command's flags
and sets `run` on its parser; `run(args)` imports the pipeline it needs and returns an
errors.Outcome. reviewbot.cli imports a command's module only when that command is used, so
`reviewbot --help` needs nothing but this table (name -> the one-line help of the command list).
"""

COMMANDS: dict[str, str] = {
    "review": "review a local branch (HEAD against the merge-base with the default branch)",
    "bench": "benchmark cost and latency of reviews on a corpus, against cachesim",
    "github": "review a GitHub pull request and post one review (for GitHub Actions)",
    "eval": "measure review quality on a golden set (precision, recall, F1)",
}
