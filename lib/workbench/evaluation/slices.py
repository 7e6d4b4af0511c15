"""Slice-based evaluation: decision metrics per group of a case's declared slices, with bootstrap intervals.

Cost per 1,000 decisions, recall and precision depend only on a group's confusion counts, so a
bootstrap resample of its rows is a multinomial draw over the four cells (tn, fp, fn, tp). Drawing
the counts directly gives the same bootstrap distribution as resampling rows, at any data size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.modelling.metrics import confusion, cost_from_counts

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["ALL", "bootstrap_confusion", "slice_table", "worst_group"]

ALL = "(all)"  # the slice and group name of the overall row


def bootstrap_confusion(y: np.ndarray, pred: np.ndarray, n_boot: int, seed: int = 0) -> np.ndarray:
    """n_boot bootstrap replicates of the confusion counts (tn, fp, fn, tp), one row each."""
    counts = np.array(confusion(y, pred), dtype=float)
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((n_boot, 4), dtype=int)
    return rng.multinomial(n, counts / n, size=n_boot)


def _rates(counts: np.ndarray, cost_fp: float, cost_fn: float) -> dict[str, np.ndarray]:
    """Cost per 1,000, recall and precision from confusion counts (..., 4); NaN where undefined."""
    counts = np.asarray(counts, dtype=float)
    tn, fp, fn, tp = np.moveaxis(counts, -1, 0)
    n = tn + fp + fn + tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "cost_per_1000": cost_from_counts(fp, fn, n, cost_fp, cost_fn),
            "recall": tp / (tp + fn),
            "precision": tp / (tp + fp),
        }


def _row(slice_name: str, group: str, y: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float,
         n_boot: int, level: float, seed: int) -> dict:
    point = _rates(np.array(confusion(y, pred)), cost_fp, cost_fn)
    boot = _rates(bootstrap_confusion(y, pred, n_boot, seed), cost_fp, cost_fn)
    row = {"slice": slice_name, "group": group, "rows": len(y), "positives": int(np.sum(y))}
    tail = 100 * (1 - level) / 2
    for name, value in point.items():
        b = boot[name][np.isfinite(boot[name])]
        lo, hi = np.percentile(b, [tail, 100 - tail]) if b.size else (np.nan, np.nan)
        row.update({name: float(value), f"{name}_lo": float(lo), f"{name}_hi": float(hi)})
    return row


def _ordered(groups: np.ndarray, values: pd.Series, bins: tuple[float, ...] | None) -> list[str]:
    """Group names in reading order: bins by their values, then rows outside the bins; other slices alphabetically."""
    import pandas as pd

    names = sorted(set(groups))
    if bins is None:
        return names
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    inside = (v >= bins[0]) & (v < bins[-1])

    def key(g: str) -> tuple[int, float, str]:
        x = v[(groups == g) & inside]
        return (0, float(x.min()), g) if x.size else (1, 0.0, g)

    return sorted(names, key=key)


def slice_table(case: Case, data: pd.DataFrame, y: np.ndarray, pred: np.ndarray, cost_fp: float,
                cost_fn: float, *, n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """Cost per 1,000, recall and precision, each with a percentile bootstrap interval, per group of each declared slice.

    The first row is the whole of `data` (slice and group ALL). Bins are closed on the left, as
    `Case.slice_groups` makes them. Metrics that a group cannot define (recall without positives)
    are NaN.
    """
    import pandas as pd

    y = np.asarray(y).astype(int)
    pred = np.asarray(pred).astype(int)
    if len(y) != len(data) or len(pred) != len(data):
        raise ValueError(f"y ({len(y)}), pred ({len(pred)}) and data ({len(data)}) must have one entry per row")
    rows = [_row(ALL, ALL, y, pred, cost_fp, cost_fn, n_boot, level, seed)]
    for k, s in enumerate(case.slices):
        groups = case.slice_groups(s, data).to_numpy()
        for j, g in enumerate(_ordered(groups, data[s.column], s.bins)):
            mask = groups == g
            rows.append(_row(s.column, str(g), y[mask], pred[mask], cost_fp, cost_fn, n_boot, level,
                             seed + 1000 * (k + 1) + j))
    return pd.DataFrame(rows)


def worst_group(table: pd.DataFrame, metric: str = "cost_per_1000", *, higher_is_worse: bool = True,
                min_rows: int = 30) -> pd.Series:
    """The row of the group (not the overall row) with the worst metric among groups of at least min_rows rows."""
    groups = table[(table["slice"] != ALL) & (table["rows"] >= min_rows) & table[metric].notna()]
    if groups.empty:
        raise ValueError(f"no slice group has at least {min_rows} rows and a defined {metric}")
    return groups.loc[groups[metric].idxmax() if higher_is_worse else groups[metric].idxmin()]
