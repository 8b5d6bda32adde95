"""What a run leaves for GitHub Actions: the step outputs ($GITHUB_OUTPUT) and the job summary
($GITHUB_STEP_SUMMARY).

`outputs`, `step_summary` and `bulk_step_summary` (a `reviewbot bulk --github` run's) build them
from values (pure); `write_outputs`, `write_step_summary` and `append_step_summary` append them to
the files the runner names, through outgoing.outgoing (the one gate for text bound for GitHub:
control characters out, the change's secrets redacted).
"""
from __future__ import annotations

from collections.abc import Sequence

from reviewbot.github.outgoing import outgoing, unfoldable
from reviewbot.llm.usage import CallRecord, summarize
from reviewbot.output.safety import prose

STEP_SUMMARY_MAX = 900_000          # GitHub keeps at most 1 MiB of a step's summary


def outputs(*, findings: int, new: int, highest_severity: str, calls: tuple[CallRecord, ...],
            review_url: str = "", skipped: str = "", feedback: str = "{}") -> dict[str, str]:
    run = summarize(calls)
    return {"findings": str(findings), "new-findings": str(new), "highest-severity": highest_severity,
            "cost": f"{run.cost:.6f}", "cache-hit-rate": "" if run.hit_rate is None else f"{run.hit_rate:.4f}",
            "review-url": review_url, "skipped": skipped, "feedback": feedback}


def step_summary(title: str, status: str, out: dict[str, str], details: str = "") -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: what happened, the numbers, and the full review folded.
    Everything but the table is defused like posted text: the review is model output, the status may
    quote GitHub or the PR, and neither may ping anyone, forge a marker or break the fold."""
    rate = out.get("cache-hit-rate") or ""
    lines = [f"### reviewbot: {prose(title)}", "", unfoldable(prose(status)), "",
             "| open findings | new | highest severity | cost | cache hit rate |", "|---|---|---|---|---|",
             (f"| {out['findings']} | {out['new-findings']} | {out['highest-severity']} | ${float(out['cost']):.4f} | "
             f"{(f'{float(rate):.1%}') if rate else 'n/a'} |")]
    if details:
        lines += ["", "<details><summary>Full review</summary>", "", unfoldable(prose(details)).strip(), "",
                  "</details>"]
    return "\n".join(lines) + "\n"


def bulk_step_summary(repo: str, lines: Sequence[str], usage: str) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY of a `reviewbot bulk --github` run: each PR's line of stdout
    (what was reviewed, posted, or why not) and the run's usage line, defused as posted text is."""
    out = [f"### reviewbot bulk: {prose(repo)}, {len(lines)} pull request(s)", ""]
    out += [f"- {unfoldable(prose(line))}" for line in lines]
    if usage:
        out += ["", unfoldable(prose(usage))]
    return "\n".join(out) + "\n"


def append_step_summary(path: str, text: str, known: tuple[str, ...]) -> None:
    """Append `text` (a summary built above) to $GITHUB_STEP_SUMMARY through the outgoing gate, cut to
    what GitHub keeps (write_step_summary cuts its review to fit first)."""
    if len(text) > STEP_SUMMARY_MAX:
        text = text[:STEP_SUMMARY_MAX - 20] + "\n\n[truncated]\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(outgoing(text, known))


def write_outputs(path: str, out: dict[str, str], known: tuple[str, ...]) -> None:
    """Append `key=value` lines to $GITHUB_OUTPUT (a value is one line)."""
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in out.items():
            fh.write(outgoing(f"{key}={value.replace(chr(10), ' ')}\n", known))


def write_step_summary(path: str, title: str, status: str, out: dict[str, str], details: str,
                       known: tuple[str, ...]) -> None:
    """Append the job summary to $GITHUB_STEP_SUMMARY, the review cut to what GitHub keeps."""
    text = step_summary(title, status, out, details)
    if len(text) > STEP_SUMMARY_MAX:
        text = step_summary(title, status, out, details[:STEP_SUMMARY_MAX - 4000] + "\n\n[truncated]")
    append_step_summary(path, text, known)
