"""Shared figure helpers, so every notebook has one look."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["bar", "style"]


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
