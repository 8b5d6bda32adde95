"""Measuring review quality: `reviewbot eval` against a golden set (README, "Measuring quality").

golden (the golden set, in the Martian Code Review Bench format) -> source (each PR as a Change,
from the GitHub API or a local bundle/range) -> the review (reviewbot.pipeline.review.run_review) -> judge
(one call per PR over a cached prefix, answering through a pydantic tool schema) -> score (pure
arithmetic: precision, recall, F1) -> report (JSON and markdown). store keeps finished reviews and
judgments so a rerun pays for nothing twice; matrix expands --specialists / --effort / --model into
the cells of a comparison.
"""
