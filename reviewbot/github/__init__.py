"""The GitHub side of reviewbot: a pull request in, one review out.

run.py owns one run, in order: event.py reads what GitHub Actions hands a step (the event payload
and the GITHUB_* variables); source.py turns the pull request into the same `Change` the CLI builds
from git; prior.py reads what the bot posted before; plan.py decides (purely) what this run posts,
with the bodies of bodies.py and the hidden markers of markers.py; post.py sends it; actions.py
writes the step outputs and the job summary. api.py is the only module that talks to GitHub
(PyGithub, REST and GraphQL); outgoing.py is the one gate every text bound for GitHub passes.
conversation.py and ignorefile.py answer people on the PR. The command is reviewbot/commands/github.py.
"""
