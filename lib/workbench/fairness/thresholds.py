"""Per-group thresholds that cost least in the case's own units, subject to a disparity limit.

fairlearn's ThresholdOptimizer maximises accuracy-type objectives; a business weighs a false
positive and a false negative by what each costs. `cost_constrained_thresholds` finds, on the rows
it is given (validation rows), one threshold per group from a grid that minimises the total cost
while every pair of groups differs by at most `limit` in each equalised rate.

The search is exact on the grid: any feasible choice has its rates inside some band
[a, a + limit] whose lower edge a is one of the rates a group reaches on the grid; for each such
band the cheapest threshold of each group inside it is independent of the others. So trying every
band edge (or every pair of edges for two rates) and summing the groups' cheapest costs finds the
optimum. The grid always includes "flag everyone" and "flag no one", so some choice is feasible:
every group flagging everyone has the same rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.fairness.groups import disparity, rates_from_counts
from workbench.modelling.metrics import cost_per_1000

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupThresholds", "cost_constrained_thresholds", "default_grid", "frontier", "group_curves"]

_EPS = 1e-12


def default_grid(n: int = 101) -> np.ndarray:
    """n thresholds evenly spaced on [0, 1] (for probabilities)."""
    return np.linspace(0.0, 1.0, n)


@dataclass(frozen=True)
class GroupThresholds:
    """A threshold per group (flag when score >= it), `default` for every other group, and what
    they achieved on the rows they were chosen on."""

    thresholds: dict[str, float]
    default: float
    rates: tuple[str, ...]
    limit: float
    cost_per_1000: float
    disparity: float

    def predict(self, score: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """0/1 decisions: 1 where the score reaches its group's threshold."""
        g = np.asarray(groups).astype(str)
        t = np.full(len(g), self.default, dtype=float)
        for name, value in self.thresholds.items():
            t[g == name] = value
        return (np.asarray(score, dtype=float) >= t).astype(int)


def group_curves(y: np.ndarray, score: np.ndarray, groups: np.ndarray, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Per group, confusion counts (len(grid), 4) = (tn, fp, fn, tp) when flagging score >= each threshold."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    g = np.asarray(groups).astype(str)
    grid = np.asarray(grid, dtype=float)
    out = {}
    for name in sorted(set(g)):
        m = g == name
        pos, neg = np.sort(score[m & y]), np.sort(score[m & ~y])
        tp = len(pos) - np.searchsorted(pos, grid, side="left")
        fp = len(neg) - np.searchsorted(neg, grid, side="left")
        out[name] = np.column_stack([len(neg) - fp, fp, len(pos) - tp, tp])
    return out


def _starts(values: np.ndarray, max_starts: int) -> np.ndarray:
    """Candidate lower band edges: every distinct finite value, or max_starts quantiles of them."""
    v = np.unique(values[np.isfinite(values)])
    if len(v) > max_starts:
        v = np.unique(np.quantile(v, np.linspace(0, 1, max_starts)))
    return v


def _band(r: np.ndarray, starts: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """For rates r (groups, thresholds), non-increasing along thresholds: per start a, the first and last
    threshold index whose rate lies in [a, a + limit], each (starts, groups); an undefined rate allows all."""
    s = starts[:, None, None]
    n = r.shape[1]
    hi = np.sum(r[None] >= s - _EPS, axis=2) - 1  # rates >= a are a prefix of the thresholds
    lo = n - np.sum(r[None] <= s + limit + _EPS, axis=2)  # rates <= a + limit are a suffix
    undefined = ~np.isfinite(r).all(axis=1)
    return np.where(undefined, 0, lo), np.where(undefined, n - 1, hi)


def _argmin_table(C: np.ndarray) -> np.ndarray:
    """A sparse table (levels, groups, thresholds): the index of the least cost in C[g, i : i + 2**level]
    (the lowest index among equals)."""
    G, T = C.shape
    levels = [np.broadcast_to(np.arange(T), (G, T)).copy()]
    k = 1
    while (1 << k) <= T:
        prev, width = levels[-1], 1 << k
        left, right = prev[:, : T - width + 1], prev[:, width // 2: width // 2 + T - width + 1]
        better = np.take_along_axis(C, right, 1) < np.take_along_axis(C, left, 1)
        levels.append(np.pad(np.where(better, right, left), ((0, 0), (0, width - 1))))
        k += 1
    return np.stack(levels)


def _range_argmin(table: np.ndarray, C: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The index of the least cost of each group in its threshold range [lo, hi] (arrays (..., groups), lo <= hi)."""
    g = np.arange(C.shape[0])
    k = np.floor(np.log2(hi - lo + 1)).astype(int)
    i1, i2 = table[k, g, lo], table[k, g, hi - (1 << k) + 1]
    return np.where(C[g, i2] < C[g, i1], i2, i1)


def cost_constrained_thresholds(y: np.ndarray, score: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
                                limit: float, cost_fp: float, cost_fn: float, grid: np.ndarray | None = None,
                                min_rows: int = 0, default: float | None = None,
                                max_cells: int = 5_000_000) -> GroupThresholds:
    """The thresholds per group that minimise cost subject to: every equalised rate within `limit` across groups.

    Groups with fewer than min_rows rows are not constrained and get `default` (None: the single
    threshold on the grid that costs least over all rows). A rate a group cannot define (TPR
    without positives) constrains nothing. Every rate here falls as the threshold rises, so the
    thresholds inside a band of rates are a contiguous range and each group's cheapest one is a
    range minimum. The search tries every band edge (see the module docstring) and is exact on the
    grid unless (band pairs x groups) exceeds max_cells, when it tries quantiles of the edges.
    """
    grid = np.unique(np.r_[-np.inf, default_grid() if grid is None else np.asarray(grid, dtype=float), np.inf])
    y = np.asarray(y).astype(int)
    g = np.asarray(groups).astype(str)
    curves = group_curves(y, score, g, grid)
    cost = {k: c[:, 1] * cost_fp + c[:, 2] * cost_fn for k, c in curves.items()}
    if default is None:
        default = float(grid[int(np.argmin(sum(cost.values())))])
    names = [k for k, c in curves.items() if c[0].sum() >= min_rows]
    if not names:
        raise ValueError(f"no group has at least {min_rows} rows")
    if not 1 <= len(rates) <= 2:
        raise ValueError(f"rates must name one or two rates, got {rates}")
    C = np.array([cost[k] for k in names], dtype=float)  # (groups, thresholds)
    G, T = C.shape
    if not np.isfinite(limit):
        pick = np.argmin(C, axis=1)
    else:
        R = [np.array([rates_from_counts(curves[k])[r] for k in names]) for r in rates]
        per_rate = max(2, int((max_cells / G) ** (1 / len(rates))))
        bands = [_band(r, _starts(r.ravel(), per_rate), limit) for r in R]
        lo, hi = bands[0][0][:, None, :], bands[0][1][:, None, :]  # (starts1, 1, groups)
        if len(bands) == 2:
            lo, hi = np.maximum(lo, bands[1][0][None]), np.minimum(hi, bands[1][1][None])
        lo, hi = np.broadcast_arrays(lo, hi)
        ok = (lo <= hi).all(axis=2)
        lo, hi = np.where(lo <= hi, lo, 0), np.where(lo <= hi, hi, 0)
        idx = _range_argmin(_argmin_table(C), C, lo, hi)
        totals = np.where(ok, C[np.arange(G), idx].sum(axis=2), np.inf)  # (starts1, starts2 or 1)
        a, b = np.unravel_index(int(np.argmin(totals)), totals.shape)
        pick = idx[a, b]
    chosen = {str(k): float(grid[i]) for k, i in zip(names, pick)}
    pred = GroupThresholds(chosen, default, tuple(rates), float(limit), 0.0, 0.0).predict(score, g)
    return GroupThresholds(chosen, default, tuple(rates), float(limit), cost_per_1000(y, pred, cost_fp, cost_fn),
                           disparity(y, pred, g, tuple(rates), min_rows=max(min_rows, 1)))


def frontier(y: np.ndarray, score: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], limits: list[float], *,
             cost_fp: float, cost_fn: float, grid: np.ndarray | None = None, min_rows: int = 0) -> pd.DataFrame:
    """The cost-versus-disparity frontier: for each limit, the cost-minimal thresholds, their cost per 1,000 and disparity."""
    import pandas as pd

    rows = []
    for limit in limits:
        t = cost_constrained_thresholds(y, score, groups, rates, limit=limit, cost_fp=cost_fp, cost_fn=cost_fn,
                                        grid=grid, min_rows=min_rows)
        rows.append({"limit": float(limit), "cost_per_1000": t.cost_per_1000, "disparity": t.disparity,
                     "thresholds": t.thresholds, "default": t.default})
    return pd.DataFrame(rows)
