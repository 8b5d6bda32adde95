"""The GitHub side of reviewbot: a pull request in, one review out.

event.py reads what GitHub Actions hands a step (the event payload and the GITHUB_* variables),
source.py turns a pull request into the same `Change` the CLI builds from git, publish.py decides
(purely) what to post and posts it through gh.py, the only module that talks to GitHub (PyGithub).
The command that wires them is reviewbot/commands/github.py.
"""
