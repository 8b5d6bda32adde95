"""reviewbot: AI code review with seven cached specialist reviewers and a summary agent."""

__version__ = "0.1.0"
