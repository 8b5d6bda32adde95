"""One module per subcommand, each light to import: `register(subparsers)` adds the command's flags
and sets `run` on its parser; `run(args)` imports the pipeline it needs and returns an
errors.Outcome. reviewbot.cli imports a command's module only when that command is used, so
`reviewbot --help` needs nothing but this table (name -> the one-line help of the command list).
"""

COMMANDS: dict[str, str] = {
    "review": "review a local branch, a git range or a patch file",
    "bulk": "review many ranges of a repository at once, through the Message Batches API (half price)",
    "bench": "measure cost and latency: a corpus of PRs against cachesim, or your own ranges against the API",
    "github": "review a pull request and post one review on GitHub (the Action runs this)",
    "eval": "measure review quality on a golden set: precision, recall, F1",
}
