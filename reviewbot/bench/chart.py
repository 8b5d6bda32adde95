"""bench.png: where the money goes, per PR. matplotlib (the `bench` extra) is imported lazily.

One stacked bar per PR, in dollars: uncached input, cache writes, cache reads, output; a marker
for the same requests with no caching and, when it was run, one for the bot's naive mode. Below,
the same split as shares of each PR's cost (the top panel is on a log scale, which distorts the
heights of stacked segments).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reviewbot.bench.metrics import Row
from reviewbot.errors import ConfigError

SEGMENTS = (("uncached", "uncached input", "#d62728"), ("write", "cache write", "#ff7f0e"),
            ("read", "cache read", "#2ca02c"), ("output", "output", "#1f77b4"))


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
    """Top: dollars per PR, stacked, on a log scale (a small PR and a large one differ 20x), with the
    no-caching markers. Bottom: the same split as shares of each PR's cost, read on a linear scale."""
    plt = require_matplotlib()
    xs = list(range(len(rows)))
    fig, (top, share) = plt.subplots(2, 1, sharex=True, figsize=(max(7.0, 0.9 * len(rows) + 2), 7.5),
                                     gridspec_kw={"height_ratios": (3, 2)})
    try:
        bottom, shares_bottom = [0.0] * len(rows), [0.0] * len(rows)
        for attr, label, colour in SEGMENTS:
            values = [getattr(r.split, attr) for r in rows]
            shares = [v / r.split.total if r.split.total else 0.0 for v, r in zip(values, rows, strict=True)]
            top.bar(xs, values, bottom=bottom, label=label, color=colour, width=0.7)
            share.bar(xs, shares, bottom=shares_bottom, color=colour, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            shares_bottom = [b + v for b, v in zip(shares_bottom, shares, strict=True)]
        top.scatter(xs, [r.no_cache_usd for r in rows], marker="_", s=400, color="black", zorder=3,
                    label="same requests, no caching")
        naive = [(x, r.naive_bot_usd) for x, r in zip(xs, rows, strict=True) if r.naive_bot_usd is not None]
        if naive:
            top.scatter([x for x, _ in naive], [v for _, v in naive], marker="x", color="grey", zorder=3,
                        label="the bot in naive mode")
        if all(r.split.total > 0 for r in rows):
            top.set_yscale("log")              # one small PR and one large differ 20x; shares below
        top.set_ylabel("cost per review ($" + (", log scale)" if top.get_yscale() == "log" else ")"))
        top.set_title(title or "reviewbot bench: where the money goes")
        top.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        top.grid(axis="y", alpha=0.3)
        share.set_ylabel("share of the cost")
        share.set_ylim(0, 1)
        share.set_xticks(xs, [r.entry for r in rows], rotation=35, ha="right")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
