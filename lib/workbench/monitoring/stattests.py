"""Two-sample statistics behind the drift tests, on plain arrays, as evidently 0.7 defines them.

`drift` applies them to whole frames and windows; the functions here take one column each:
`ks` (Kolmogorov-Smirnov statistic and p-value), `chi_square` (p-value of current category counts
against the reference shares), `psi` (population stability index) and `wasserstein` (Wasserstein-1
distance over the reference standard deviation). The building blocks work on count cells of many
columns at once (`psi_cells`, `chi_square_cells`) and on sorted samples (`Sample`, `merged_stats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["KS_EXACT_MAX_N", "ExactKS", "Sample", "chi_square", "chi_square_cells", "ks", "ks_pvalues", "merged_stats",
           "psi", "psi_binned", "psi_cells", "wasserstein"]

KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp is exact up to this sample size, asymptotic above


def psi_cells(ref: np.ndarray, cur: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """PSI per segment of aligned count cells (every cell observed in ref or cur), with evidently's floor."""
    out = []
    for counts in (ref, cur):
        share = counts / np.bincount(seg, weights=counts, minlength=n_seg)[seg]
        smallest = np.full(n_seg, np.inf)
        np.minimum.at(smallest, seg[share > 0], share[share > 0])
        floor = np.where(smallest <= 0.0001, smallest / 10**6, 0.0001)
        out.append(np.where(share == 0, floor[seg], share))
    r, c = out
    return np.bincount(seg, weights=(r - c) * np.log(r / c), minlength=n_seg)


def chi_square_cells(ref: np.ndarray, cur: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Chi-square p-value per segment of aligned count cells: current counts against reference shares."""
    from scipy import special

    n_ref = np.bincount(seg, weights=ref, minlength=n_seg)
    n_cur = np.bincount(seg, weights=cur, minlength=n_seg)
    expected = ref * (n_cur / n_ref)[seg]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.bincount(seg, weights=(cur - expected) ** 2 / expected, minlength=n_seg)
    return special.chdtrc(np.bincount(seg, minlength=n_seg) - 1, stat)


class Sample:
    """One numeric sample: finite values sorted, with size, spread and number of distinct values."""

    def __init__(self, values: Any, integer: bool) -> None:
        x = np.asarray(values, dtype=float)
        finite = np.isfinite(x)
        self.sorted = np.sort(x if finite.all() else x[finite])
        if self.sorted.size == 0:
            raise ValueError("a numeric column has no finite values")
        self.n = self.sorted.size
        self.integer = integer

    @cached_property
    def std(self) -> float:
        return float(np.std(self.sorted))

    @cached_property
    def nunique(self) -> int:
        return int(1 + np.count_nonzero(self.sorted[1:] != self.sorted[:-1]))


def _runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    return x[starts], np.diff(np.r_[starts, x.size])


def psi_binned(ref: Sample, cur: Sample) -> float:
    if ref.nunique <= 20:  # value by value
        (rv, rc), (cv, cc) = _runs(ref.sorted), _runs(cur.sorted)
        keys = np.union1d(rv, cv)
        r, c = np.zeros(keys.size), np.zeros(keys.size)
        r[np.searchsorted(keys, rv)], c[np.searchsorted(keys, cv)] = rc, cc
    else:  # numpy's 'sturges' bins over both samples, as np.histogram_bin_edges computes them
        first, last = min(ref.sorted[0], cur.sorted[0]), max(ref.sorted[-1], cur.sorted[-1])
        width = (last - first) / (np.log2(ref.n + cur.n) + 1.0)
        if ref.integer and cur.integer and width < 1:
            width = 1
        edges = np.linspace(first, last, int(np.ceil((last - first) / width)) + 1)
        # bins [e_i, e_i+1), the last one closed
        r, c = (np.diff(np.r_[np.searchsorted(s.sorted, edges[:-1]), s.n]).astype(float) for s in (ref, cur))
    return float(psi_cells(r, c, np.zeros(r.size, dtype=np.intp), 1)[0])


def merged_stats(ref: np.ndarray, cur: np.ndarray, wasserstein: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """KS statistic and unnormalised Wasserstein-1 distance, row by row, of sorted (k, n1) and (k, n2) arrays."""
    n1, n2 = ref.shape[1], cur.shape[1]
    z = np.concatenate([ref, cur], axis=1)
    order = np.argsort(z, axis=1, kind="stable")  # merging two sorted runs: linear time
    z = np.take_along_axis(z, order, axis=1)
    # F_ref - F_cur after the k-th merged value, c of them from cur: (k - c) / n1 - c / n2
    diff = np.cumsum(order >= n1, axis=1, dtype=float)
    diff *= -(1 / n1 + 1 / n2)
    diff += np.arange(1, n1 + n2 + 1) / n1
    np.abs(diff, out=diff)
    wasser = np.sum(diff[:, :-1] * np.diff(z, axis=1), axis=1) if wasserstein else None
    last = np.ones(z.shape, dtype=bool)  # ECDFs are compared after the last of tied values
    np.not_equal(z[:, 1:], z[:, :-1], out=last[:, :-1])
    return np.max(diff, axis=1, where=last, initial=0.0), wasser


def ks_pvalues(d: np.ndarray, n1: int, n2: int, thresholds: tuple[float, ...] | None) -> np.ndarray:
    """scipy's asymptotic two-sample KS p-values (kstwo); with `thresholds`, the module docstring's shortcut."""
    from scipy import stats

    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = np.round(m * n / (m + n))
    x = np.sqrt(en) * d
    p = stats.kstwobign.sf(x)
    with np.errstate(divide="ignore"):
        exact = (en < 1000) | (x < 1.483) | (p <= 0) | (thresholds is None)
        for t in thresholds or ():  # here kstwo is within a factor exp((1 + x^2) / (3 sqrt(n))) of the limit law
            exact |= np.abs(np.log(p / t)) <= 4 * (1 + x**2) / np.sqrt(en)
    p[exact] = stats.kstwo.sf(d[exact], en)
    return np.clip(p, 0, 1)


class ExactKS:
    """scipy's exact two-sample KS p-values (samples of up to `KS_EXACT_MAX_N`), computed only where a verdict needs them.

    For sizes n1 and n2, scipy's exact p-value depends only on the lattice point h = round(D * lcm(n1, n2))
    of the statistic D, and falls as h grows. Values once computed are kept by (n1, n2, h). Another
    h gets the approximation of `ks_pvalues` when the kept values already settle its verdict at every
    threshold t (a smaller or equal h with p <= t, or a larger or equal one with p > t) and the
    approximation falls on the same side of t; otherwise scipy computes it. So every verdict at a
    threshold is scipy's, and a window scan runs the slow exact law only near each threshold's
    critical value.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], dict[int, float]] = {}
        self._bounds: dict[tuple[int, int], dict[float, list[float]]] = {}  # t -> [max h: p > t, min h: p <= t]

    def pvalues(self, d: np.ndarray, n1: int, n2: int, thresholds: tuple[float, ...] | None,
                samples: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """p-values of the statistics `d` of samples sized n1 and n2; `samples(i)` gives the two behind `d[i]`.

        `thresholds=None` asks for exact values everywhere.
        """
        from scipy import stats

        d = np.asarray(d, dtype=float)
        lcm = n1 // math.gcd(n1, n2) * n2
        known = self._known.setdefault((n1, n2), {})
        bounds = self._bounds.setdefault((n1, n2), {})
        for t in thresholds or ():
            if t not in bounds:
                bounds[t] = [max((k for k, p in known.items() if p > t), default=-math.inf),
                             min((k for k, p in known.items() if p <= t), default=math.inf)]
        approx = ks_pvalues(d, n1, n2, ()) if thresholds is not None else None
        out = np.empty(len(d))
        for i, h in enumerate(np.rint(d * lcm).astype(np.int64).tolist()):
            if h in known:
                out[i] = known[h]
            elif approx is not None and all(
                    (h >= bounds[t][1] and approx[i] <= t) or (h <= bounds[t][0] and approx[i] > t)
                    for t in thresholds or ()):
                out[i] = approx[i]
            else:
                out[i] = known[h] = float(stats.ks_2samp(*samples(i)).pvalue)
                for t, b in bounds.items():
                    if out[i] > t:
                        b[0] = max(b[0], h)
                    else:
                        b[1] = min(b[1], h)
        return out


def _aligned_counts(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every value seen in either sample (missing values dropped), aligned."""
    import pandas as pd

    ref = pd.Series(reference).value_counts(dropna=True)
    cur = pd.Series(current).value_counts(dropna=True)
    keys = ref[ref > 0].index.union(cur[cur > 0].index)
    return ref.reindex(keys, fill_value=0).to_numpy(float), cur.reindex(keys, fill_value=0).to_numpy(float)


def ks(reference: Any, current: Any) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value, as scipy's `ks_2samp` computes them."""
    from scipy import stats

    r, c = Sample(reference, False), Sample(current, False)
    d = merged_stats(r.sorted[None, :], c.sorted[None, :])[0]
    if max(r.n, c.n) <= KS_EXACT_MAX_N:
        return float(d[0]), float(stats.ks_2samp(r.sorted, c.sorted).pvalue)
    return float(d[0]), float(ks_pvalues(d, r.n, c.n, None)[0])


def wasserstein(reference: Any, current: Any) -> float:
    """Wasserstein-1 distance divided by the reference standard deviation (at least 0.001)."""
    r, c = Sample(reference, False), Sample(current, False)
    distance = merged_stats(r.sorted[None, :], c.sorted[None, :])[1]
    assert distance is not None
    return float(distance[0]) / max(r.std, 0.001)


def psi(reference: Any, current: Any, kind: str = "numeric") -> float:
    """Population stability index of current against reference ('numeric' or 'categorical' values)."""
    if kind == "numeric":
        ints = all(np.issubdtype(np.asarray(x).dtype, np.integer) for x in (reference, current))
        return psi_binned(Sample(reference, ints), Sample(current, ints))
    ref, cur = _aligned_counts(reference, current)
    return float(psi_cells(ref, cur, np.zeros(ref.size, dtype=np.intp), 1)[0])


def chi_square(reference: Any, current: Any) -> float:
    """p-value of the chi-square test of the current category counts against the reference shares."""
    ref, cur = _aligned_counts(reference, current)
    return float(chi_square_cells(ref, cur, np.zeros(ref.size, dtype=np.intp), 1)[0])
