"""Intervals behind every headline comparison: bootstrap over rows, paired differences, proportions, repeats.

The workbench's evidence rule is that a decision between options says how sure it is. These are the
one implementation of each interval the notebooks use:

- `bootstrap_rows`: a percentile bootstrap of any statistic of rows (resampling row indices);
- `mean_interval`: the same for a mean (e.g. the per-row cost difference of two models, which is
  their cost-per-1,000 difference over 1,000), drawn exactly and fast from the distinct values;
- `paired_cost_difference`: cost per 1,000 of option A minus option B on the same rows;
- `proportion_interval`: a Wilson interval for k successes in n trials ("0 of 200" is not "0.00");
- `repeats_interval`: a t interval over repeats (seeds, splits, windows);
- `auc_interval`, `auc_difference`: ROC-AUC (or a paired difference of two options' ROC-AUC) on one
  set of rows, and the difference between two sets of rows (two splits), bootstrapped over rows or
  over groups of rows resampled whole (e.g. days, whose rows share their weather).

Every function returns an `Interval` (value, lo, hi, level, method); `distinguishable` says whether
an interval of a difference excludes zero, and `simplest_indistinct` applies the rule that the
simpler option wins when the evidence cannot tell options apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.modelling.metrics import row_costs

__all__ = [
    "Interval",
    "auc_difference",
    "auc_interval",
    "bootstrap_rows",
    "distinguishable",
    "mean_interval",
    "paired_cost_difference",
    "proportion_interval",
    "repeats_interval",
    "simplest_indistinct",
]


@dataclass(frozen=True)
class Interval:
    """A value with an interval [lo, hi] at `level` (e.g. 0.9), and how the interval was made."""

    value: float
    lo: float
    hi: float
    level: float
    method: str

    def __str__(self) -> str:
        return f"{self.value:,.4g} [{self.lo:,.4g}, {self.hi:,.4g}]"

    def text(self, fmt: str = ",.4g") -> str:
        """'value [lo, hi]' with a format spec, and the level, e.g. '12.3 [10.1, 14.2] (90%)'."""
        return f"{self.value:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}] ({self.level:.0%})"

    def rounded(self) -> str:
        """'value [lo, hi] (90%)' with as many decimals as the interval's width needs: '12,987 [-754, 26,570]
        (90%)' for a wide one, '0.00030 [0.00001, 0.00058] (90%)' for a narrow one."""
        width = self.hi - self.lo
        if not (np.isfinite(width) and width > 0):
            return self.text()
        decimals = int(np.clip(1 - np.floor(np.log10(width)), 0, 8))
        return self.text(f",.{decimals}f")

    def excludes(self, x: float = 0.0) -> bool:
        """Whether x lies outside the interval."""
        return bool(x < self.lo or x > self.hi)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")


def bootstrap_rows(n: int, statistic: Callable[[np.ndarray], float], *, n_boot: int = 1000, level: float = 0.9,
                   seed: int = 0) -> Interval:
    """Percentile bootstrap of statistic(rows) over n rows: the value is statistic(all rows).

    `statistic` receives an array of row indices (with repeats) and returns a number; for a paired
    comparison, compute both options on the same indices and return their difference.
    Resamples on which the statistic is undefined (NaN) are dropped.
    """
    _check_level(level)
    if n < 1:
        raise ValueError("bootstrap_rows needs at least one row")
    rng = np.random.default_rng(seed)
    value = float(statistic(np.arange(n)))
    reps = np.array([statistic(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    reps = reps[np.isfinite(reps)]
    if not len(reps):
        return Interval(value, float("nan"), float("nan"), level, "bootstrap")
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return Interval(value, float(lo), float(hi), level, f"percentile bootstrap over {n:,} rows, {n_boot} resamples")


def mean_interval(values: np.ndarray, *, n_boot: int = 2000, level: float = 0.9, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of values (resampling rows), exact and fast at any n.

    A resample of n rows is a multinomial draw of how often each distinct value appears, so the
    bootstrap distribution of the mean is drawn from the counts of distinct values, not from rows.
    """
    _check_level(level)
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError("mean_interval needs a non-empty array of finite values")
    uniq, counts = np.unique(v, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(v.size, counts / v.size, size=n_boot)
    means = draws @ uniq / v.size
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(v.mean()), float(lo), float(hi), level,
                    f"percentile bootstrap over {v.size:,} rows, {n_boot} resamples")


def paired_cost_difference(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, cost_fp: float, cost_fn: float,
                           *, n_boot: int = 2000, level: float = 0.9, seed: int = 0) -> Interval:
    """Cost per 1,000 decisions of A minus B on the same rows, with a paired bootstrap interval.

    Each row's cost under A minus its cost under B is resampled, so what both options get right or
    wrong together cancels: the interval is much narrower than comparing two separate intervals.
    """
    y, a, b = np.asarray(y), np.asarray(pred_a), np.asarray(pred_b)
    if not len(y) == len(a) == len(b):
        raise ValueError(f"y ({len(y)}), pred_a ({len(a)}) and pred_b ({len(b)}) must have one entry per row")
    diff = row_costs(y, a, cost_fp, cost_fn) - row_costs(y, b, cost_fp, cost_fn)
    m = mean_interval(1000.0 * diff, n_boot=n_boot, level=level, seed=seed)
    return Interval(m.value, m.lo, m.hi, level, "paired " + m.method)


def proportion_interval(k: int, n: int, *, level: float = 0.9) -> Interval:
    """k of n as a share, with its Wilson score interval (sensible at k = 0 or k = n)."""
    from scipy.stats import norm

    _check_level(level)
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    z = float(norm.ppf((1 + level) / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), level,
                    f"Wilson interval, {k} of {n}")


def repeats_interval(values: np.ndarray, *, level: float = 0.9) -> Interval:
    """The mean over repeats (seeds, splits, windows) with a t interval; a single repeat has none (NaN)."""
    from scipy.stats import t

    _check_level(level)
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("repeats_interval needs at least one value")
    mean = float(v.mean())
    if v.size == 1:
        return Interval(mean, float("nan"), float("nan"), level, "one repeat: no interval")
    half = float(t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return Interval(mean, mean - half, mean + half, level, f"t interval over {v.size} repeats")


def distinguishable(difference: Interval, at: float = 0.0) -> bool:
    """Whether an interval of a difference excludes `at` (0: the options differ at this level)."""
    return difference.excludes(at)


def simplest_indistinct(order: Sequence[str], best: str, gaps: Mapping[str, Interval]) -> str:
    """The first option in `order` (simplest first) that is `best` or whose interval of (its cost minus
    the best's) reaches 0 or below: the simplest option not distinguishably worse than the best."""
    if best not in order:
        raise ValueError(f"best option {best!r} is not one of {list(order)}")
    for option in order:
        if option == best or gaps[option].lo <= 0:
            return option
    return best  # unreachable: best is in order


def _clusters(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, int, str]:
    """Each row's cluster code, the number of clusters, and their name (rows are their own clusters without groups)."""
    if groups is None:
        return np.arange(n), n, "rows"
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} rows")
    _, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return codes, int(codes.max()) + 1 if n else 0, "groups"


def auc_interval(y: np.ndarray, score: np.ndarray, *, baseline: np.ndarray | None = None,
                 groups: np.ndarray | None = None, n_boot: int = 500, level: float = 0.9, seed: int = 0) -> Interval:
    """ROC-AUC of `score`, or with `baseline` (another option's scores on the same rows) the paired
    difference AUC(score) - AUC(baseline), with a percentile bootstrap interval.

    Rows are resampled, or with `groups` whole groups of rows (clusters such as days or entities),
    which keeps rows that share something together and widens the interval honestly.
    """
    from workbench.modelling.metrics import roc_auc_by_weights

    a = roc_auc_by_weights(y, score)
    b = None if baseline is None else roc_auc_by_weights(y, baseline)
    codes, n, unit = _clusters(groups, len(np.asarray(y)))

    def statistic(idx: np.ndarray) -> float:
        w = np.bincount(idx, minlength=n)[codes]
        return a(w) - (b(w) if b is not None else 0.0)

    iv = bootstrap_rows(n, statistic, n_boot=n_boot, level=level, seed=seed)
    kind = "paired " if b is not None else ""
    return Interval(iv.value, iv.lo, iv.hi, level, f"{kind}percentile bootstrap over {n:,} {unit}, {n_boot} resamples")


def auc_difference(y_a: np.ndarray, score_a: np.ndarray, y_b: np.ndarray, score_b: np.ndarray, *,
                   groups_a: np.ndarray | None = None, groups_b: np.ndarray | None = None, n_boot: int = 500,
                   level: float = 0.9, seed: int = 0) -> Interval:
    """ROC-AUC on rows A minus ROC-AUC on other rows B (e.g. the test rows of two splits), with a
    percentile bootstrap interval over the pooled rows (or groups, resampled whole) of both sets.
    """
    from workbench.modelling.metrics import roc_auc_by_weights

    auc_a, auc_b = roc_auc_by_weights(y_a, score_a), roc_auc_by_weights(y_b, score_b)
    codes_a, n_a, unit = _clusters(groups_a, len(np.asarray(y_a)))
    codes_b, n_b, _ = _clusters(groups_b, len(np.asarray(y_b)))

    def statistic(idx: np.ndarray) -> float:
        w_a = np.bincount(idx[idx < n_a], minlength=n_a)[codes_a]
        w_b = np.bincount(idx[idx >= n_a] - n_a, minlength=n_b)[codes_b]
        return auc_a(w_a) - auc_b(w_b)

    iv = bootstrap_rows(n_a + n_b, statistic, n_boot=n_boot, level=level, seed=seed)
    return Interval(iv.value, iv.lo, iv.hi, level,
                    f"percentile bootstrap over the {n_a + n_b:,} pooled {unit} of both sets, {n_boot} resamples")
