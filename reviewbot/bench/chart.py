"""bench.png: where the money and the time go, per PR. matplotlib (the `bench` extra) is imported lazily.

Top: the dollars of one review, stacked (uncached input, cache writes, cache reads, output), with a
marker for the same review at uniform default effort and one for it in batch mode, when those passes
ran. Bottom: the wall time of the review, split into the summary agent's span and the rest, with a
marker for the critical path (the least wall time its calls allow). Both on linear scales, so the
heights of the stacked segments can be read.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reviewbot.bench.metrics import Row
from reviewbot.errors import ConfigError

SEGMENTS = (("uncached", "uncached input", "#d62728"), ("write", "cache write", "#ff7f0e"),
            ("read", "cache read", "#2ca02c"), ("output", "output (thinking included)", "#1f77b4"))


def require_matplotlib() -> Any:
    """The pyplot module on the Agg backend, or a one-line ConfigError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("the bench chart needs matplotlib: pip install 'reviewbot[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def write_chart(rows: Sequence[Row], path: Path, title: str = "") -> None:
    """The two panels of the module docstring, one bar per PR."""
    plt = require_matplotlib()
    xs = list(range(len(rows)))
    fig, (money, time) = plt.subplots(2, 1, sharex=True, figsize=(max(7.0, 0.9 * len(rows) + 3), 8.0),
                                      gridspec_kw={"height_ratios": (1, 1)})
    try:
        bottom = [0.0] * len(rows)
        for attr, label, colour in SEGMENTS:
            values = [getattr(r.split, attr) for r in rows]
            money.bar(xs, values, bottom=bottom, label=label, color=colour, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for attr, label, marker, colour in (("uniform_usd", "same review, uniform default effort", "_", "black"),
                                            ("batch_usd", "same review, batch mode", "x", "dimgrey")):
            points = [(x, getattr(r, attr)) for x, r in zip(xs, rows, strict=True) if getattr(r, attr) is not None]
            if points:
                money.scatter([x for x, _ in points], [v for _, v in points], marker=marker, s=300 if marker == "_"
                              else 40, color=colour, zorder=3, label=label)
        money.set_ylabel("dollars per review")
        money.set_title(title or "reviewbot bench: where the money and the time go")
        handles, labels = money.get_legend_handles_labels()
        order = [labels.index(label) for _, label, _ in reversed(SEGMENTS)] + [
            i for i, label in enumerate(labels) if label not in {s[1] for s in SEGMENTS}]
        money.legend([handles[i] for i in order], [labels[i] for i in order], fontsize="small",
                     loc="upper left", bbox_to_anchor=(1.01, 1.0))       # the stack's order, top first
        money.grid(axis="y", alpha=0.3)

        summary = [r.summary_seconds for r in rows]
        rest = [max(r.wall - s, 0.0) for r, s in zip(rows, summary, strict=True)]
        time.bar(xs, rest, color="#9467bd", width=0.7, label="specialists, warm-up, local work")
        time.bar(xs, summary, bottom=rest, color="#c5b0d5", width=0.7, label="summary agent")
        time.scatter(xs, [r.critical for r in rows], marker="_", s=300, color="black", zorder=3,
                     label="critical path")
        time.set_ylabel("wall time per review (s)")
        handles, labels = time.get_legend_handles_labels()
        time.legend(handles[::-1], labels[::-1], fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        time.grid(axis="y", alpha=0.3)
        time.set_xticks(xs, [r.entry for r in rows], rotation=35, ha="right")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
