"""The GitHub side of reviewbot: a pull request in, one review out.

event.py reads what GitHub Actions hands a step (the event payload and the GITHUB_* variables),
source.py turns a pull request into the same `Change` the CLI builds from git, publish.py decides
(purely) what to post (markers.py, bodies.py, prior.py, plan.py) and posts it (post.py) through
gh.py, the only module that talks to GitHub (PyGithub, REST and GraphQL); outgoing.py is the one
gate every text bound for GitHub passes.
The command that wires them is reviewbot/commands/github.py.
"""
