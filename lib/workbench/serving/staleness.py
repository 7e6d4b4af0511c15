"""Features of the recent past, and what serving them stale costs.

`RecentRates` gives, for a moment `at`, the positive rate among each group's events whose labels
were known in the window before `at` (e.g. the share of this carrier's flights that arrived late,
among those whose arrival was known in the last 6 hours). Such a feature changes by the hour. A
prediction computed online uses its value at request time; one precomputed by a batch job uses its
value when the job ran, up to a batch period earlier. Evaluating the same model on both says what
the staleness costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["RecentRates", "batch_ages"]


class RecentRates:
    """Positive rate of each group's events by the time their labels were known (seconds)."""

    def __init__(self, known_at: np.ndarray, y: np.ndarray, groups: Mapping[str, np.ndarray]):
        self.known_at = np.asarray(known_at, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.t0 = float(self.known_at.min())
        self.span = float(self.known_at.max() - self.t0) + 1.0
        self.index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for name, codes in groups.items():
            g = self._codes(codes)
            key = g * (4 * self.span) + (self.known_at - self.t0)
            order = np.argsort(key, kind="stable")
            self.index[name] = (g, key[order], np.r_[0.0, np.cumsum(self.y[order])])

    @staticmethod
    def _codes(codes: np.ndarray) -> np.ndarray:
        _, inverse = np.unique(np.asarray(codes), return_inverse=True)
        return inverse.astype(np.float64)

    def rate(self, name: str, at: np.ndarray, window_seconds: float, rows: np.ndarray | None = None) -> np.ndarray:
        """For each row (all, or `rows`): the positive rate of its group's events with labels known in
        [at - window, at); NaN when there are none."""
        g, key, cum = self.index[name]
        g = g if rows is None else g[rows]
        at = np.asarray(at, dtype=np.float64)
        base = g * (4 * self.span)

        def offset(t: np.ndarray) -> np.ndarray:  # within the group's stretch of keys (no events lie outside)
            return np.clip(t - self.t0, -self.span, 2 * self.span)

        hi = np.searchsorted(key, base + offset(at), side="left")
        lo = np.searchsorted(key, base + offset(at - window_seconds), side="left")
        n = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, (cum[hi] - cum[lo]) / n, np.nan)

    def features(self, at: np.ndarray, windows_hours: Sequence[float],
                 rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """Every group's rate over every window, as float32 columns, and their names."""
        cols, names = [], []
        for name in self.index:
            for w in windows_hours:
                cols.append(self.rate(name, at, float(w) * 3600.0, rows))
                names.append(f"recent_rate_{name}_{w:g}h")
        return np.column_stack(cols).astype(np.float32), names


def batch_ages(n: int, period_hours: float, seed: int) -> np.ndarray:
    """How old each of n precomputed predictions is when it is served, in seconds: a batch job runs
    every period and requests arrive at random times in between (uniform on [0, period))."""
    return np.random.default_rng(seed).uniform(0.0, period_hours * 3600.0, n)
