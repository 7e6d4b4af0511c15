"""Shared figure helpers, so every notebook has one look."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["bar", "intervals", "reliability", "style"]


def style() -> None:
    """The workbench's figure style (call once in a notebook's Setup)."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({"figure.figsize": (7.5, 3.6), "figure.dpi": 80, "axes.titleweight": "bold",
                         "axes.titlesize": "medium", "savefig.bbox": "tight"})


def bar(frame: pd.DataFrame, x: str, y: str, *, ax: Axes | None = None, title: str = "",
        highlight: str | None = None, fmt: str = "{:,.0f}") -> Axes:
    """A horizontal bar chart of y per x, values labelled, one bar highlighted."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    colors = ["#3366cc" if v == highlight else "#9db4d9" for v in frame[x]]
    ax.barh(frame[x].astype(str), frame[y], color=colors)
    ax.invert_yaxis()
    for i, v in enumerate(frame[y]):
        ax.annotate(fmt.format(v), (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_xlabel(y)
    ax.set_ylabel("")
    ax.set_title(title)
    ax.margins(x=0.15)
    return ax


def reliability(curves: dict[str, pd.DataFrame], *, ax: Axes | None = None, title: str = "") -> Axes:
    """A reliability diagram: observed positive rate against mean predicted probability, one line per
    curve (frames from `calibration.reliability_bins`), marker area by the number of cases."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    top = max(float(max(c["mean_predicted"].max(), c["observed_rate"].max())) for c in curves.values())
    top = min(1.0, 1.1 * top)
    ax.plot([0, top], [0, top], color="grey", ls="--", lw=1, label="calibrated")
    for name, c in curves.items():
        size = 10 + 200 * c["count"] / c["count"].sum()
        (line,) = ax.plot(c["mean_predicted"], c["observed_rate"], marker="", label=name)
        ax.scatter(c["mean_predicted"], c["observed_rate"], s=size, color=line.get_color(), zorder=3)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed positive rate")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def intervals(frame: pd.DataFrame, label: str, value: str, lo: str, hi: str, *, ax: Axes | None = None,
              title: str = "", reference: float | None = None, highlight: str | None = None) -> Axes:
    """Point estimates with interval bars, one row per label, an optional reference line, one row highlighted."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    pos = range(len(frame))
    colors = ["#cc3311" if v == highlight else "#3366cc" for v in frame[label]]
    err = [frame[value] - frame[lo], frame[hi] - frame[value]]
    ax.errorbar(frame[value], pos, xerr=err, fmt="none", ecolor="#9db4d9", elinewidth=3)
    ax.scatter(frame[value], pos, color=colors, zorder=3)
    ax.set_yticks(list(pos), frame[label].astype(str))
    ax.invert_yaxis()
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    ax.set_xlabel(value)
    ax.set_title(title)
    return ax
