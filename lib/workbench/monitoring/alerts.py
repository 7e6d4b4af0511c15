"""Monitoring over time: windows of rows, detectors to run on them, alert rules and how they behave.

A window *fires* when its signal crosses a threshold (for drift: any monitored column drifted);
an *alert* is raised when `persistence` consecutive windows fire, which trades a little detection
delay for far fewer false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.monitoring.drift import Detector, Encoded, Reference, drifted

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CORRECTIONS", "DETECTORS", "PERIODS", "RARE", "Timebase", "alerts", "auto_window", "detection_delay",
           "detectors", "period_windows", "pool_rare", "rows_per_day", "scan", "time_order", "timebase", "windows"]

DETECTORS = ("ks_chi2", "psi", "wasserstein")
CORRECTIONS = ("none", "bonferroni")
RARE = "(rare)"
PERIODS = {"week": 7.0, "month": 30.44, "quarter": 91.31, "year": 365.25}  # days in each period a time may stand for
WINDOW_SIZES = (2000, 1000, 500, 250, 200, 100, 50)  # what `auto_window` chooses from, largest first


@dataclass(frozen=True)
class Timebase:
    """The time a case's rows carry.

    `unit` is "day" when the times are timestamps (days and months are real), else the period each
    distinct time stands for ("week", "month", "quarter", "year"; e.g. a survey year), inside which
    rows have no order. `rows_per_unit` is rows per day, or per period.
    """

    unit: str
    rows_per_unit: float

    @property
    def timestamps(self) -> bool:
        """Whether days (and so months) are real for these rows."""
        return self.unit == "day"

    @property
    def budget_unit(self) -> str:
        """The unit alert rates are counted in: a month for timestamps, else one period."""
        return "month" if self.timestamps else self.unit

    def windows_per_budget_unit(self, window: int) -> float:
        """How many windows of `window` rows arrive in one budget unit (a month of 30.44 days, or a period)."""
        per = self.rows_per_unit * PERIODS["month"] if self.timestamps else self.rows_per_unit
        return per / window

    def delay_windows(self, days: float, window: int) -> int:
        """Windows that pass during a delay of `days` (for periods: whole periods of windows)."""
        if days <= 0:
            return 0
        if self.timestamps:
            return int(np.ceil(days * self.rows_per_unit / window))
        periods = int(np.ceil(days / PERIODS[self.unit] - 1e-6))
        return int(periods * np.floor(self.rows_per_unit / window))


def timebase(times: pd.Series) -> Timebase:
    """Timestamps (the typical step between distinct times is at most a day) or periods (the step is
    about a week, month, quarter or year: the nearest on a log scale)."""
    distinct = np.unique(times.to_numpy())
    if len(distinct) < 2:
        raise ValueError("monitoring over time needs at least two distinct times in the time column")
    step = float(np.median(np.diff(distinct)) / np.timedelta64(1, "D"))
    if step <= 1.0:
        return Timebase("day", rows_per_day(times))
    unit = min(PERIODS, key=lambda u: abs(np.log(PERIODS[u] / step)))
    return Timebase(unit, len(times) / len(distinct))


def auto_window(pool_rows: int, later_rows: int, *, min_windows: int = 10) -> int:
    """The largest of `WINDOW_SIZES` that fits at least 4 times in the unshifted pool (weighted draws
    need room) and `min_windows` times in the rows after the reference period."""
    for size in WINDOW_SIZES:
        if 4 * size <= pool_rows and min_windows * size <= later_rows:
            return size
    raise ValueError(f"too few rows to monitor: an unshifted pool of {pool_rows:,} rows and {later_rows:,} rows after "
                     f"the reference period fit no window of {WINDOW_SIZES[-1]} rows or more")


def period_windows(positions: np.ndarray, times: pd.Series, size: int, seed: int = 0) -> list[np.ndarray]:
    """Windows of `size` of `positions` that never cross a period: the rows of each distinct time (in
    time order) in a random (seeded) order, cut into windows; each period's remainder is dropped.
    `times` holds the time of each position."""
    rng = np.random.default_rng(seed)
    t = times.to_numpy()
    out: list[np.ndarray] = []
    for value in np.unique(t):
        out.extend(windows(rng.permutation(np.asarray(positions)[t == value]), size))
    return out


def detectors(alpha: float = 0.05, correction: str = "none", effect_threshold: float = 0.1,
              n_columns: int = 1) -> dict[str, Detector]:
    """The workbench's three detectors: p-value tests (KS / chi-square) and two effect sizes.

    `ks_chi2` tests at `alpha`, divided by `n_columns` under the Bonferroni correction, so that the
    chance that any of the columns fires on an unshifted window stays below `alpha`. `psi` (PSI for
    every column) and `wasserstein` (Wasserstein for numeric, PSI for categorical columns) drift when
    the effect size reaches `effect_threshold`, whatever the sample size.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction {correction!r} is not one of {', '.join(CORRECTIONS)}")
    a = alpha / max(n_columns, 1) if correction == "bonferroni" else alpha
    e = effect_threshold
    return {"ks_chi2": Detector("ks", "chisquare", a, a), "psi": Detector("psi", "psi", e, e),
            "wasserstein": Detector("wasserstein", "psi", e, e)}


def pool_rare(frame: pd.DataFrame, kinds: Mapping[str, str], reference: pd.DataFrame,
              min_share: float = 0.01) -> pd.DataFrame:
    """A copy of `frame` whose categorical levels rarer than `min_share` in `reference` are merged into `RARE`.

    Chi-square tests are unreliable when a level's expected count in a window is small, and a level
    the reference has (almost) never seen makes any window with it "drift". Values the reference
    never had are merged too, so a surge of new values shows as a growing `RARE` share.
    """
    import pandas as pd

    out = frame.copy()
    for c in (c for c, k in kinds.items() if k == "categorical"):
        share = reference[c].value_counts(normalize=True, dropna=True)
        values = frame[c]
        if isinstance(values.dtype, pd.CategoricalDtype):  # keep the order of the categories
            keep = [v for v in values.cat.categories if share.get(v, 0) >= min_share and v != RARE]
            target = np.array([keep.index(v) if v in keep else len(keep) for v in values.cat.categories] + [-1])
            out[c] = pd.Categorical.from_codes(target[values.cat.codes.to_numpy()], categories=[*keep, RARE])
        else:
            keep = [v for v in share.index[share >= min_share] if v != RARE]
            out[c] = values.where(values.isin(keep) | values.isna(), RARE)
    return out


def time_order(times: pd.Series, seed: int = 0) -> np.ndarray:
    """Row positions in time order; rows that share a time come in a random (seeded) order."""
    tie_break = np.random.default_rng(seed).permutation(len(times))
    return np.lexsort((tie_break, times.to_numpy()))


def windows(positions: np.ndarray, size: int) -> list[np.ndarray]:
    """Consecutive windows of `size` positions; a shorter remainder at the end is dropped."""
    if size < 1:
        raise ValueError(f"window size must be at least 1, got {size}")
    return [positions[i:i + size] for i in range(0, len(positions) - size + 1, size)]


def rows_per_day(times: pd.Series) -> float:
    """Average rows per day over the period the times cover (the last distinct time counts one typical step)."""
    distinct = np.unique(times.to_numpy())
    if len(distinct) < 2:
        raise ValueError("rows per day needs at least two distinct times")
    step = np.median(np.diff(distinct))
    return len(times) / ((distinct[-1] - distinct[0] + step) / np.timedelta64(1, "D"))


def scan(reference: Reference, encoded: Encoded, windows: Sequence[np.ndarray],
         detectors: Mapping[str, Detector]) -> pd.DataFrame:
    """For each window and detector: how many columns drifted, which, and whether the window fires.

    Each window's scores are computed once for all detectors.
    """
    import pandas as pd

    kinds = np.array([reference.columns[c] for c in reference.columns])
    names = np.array(list(reference.columns))
    methods = tuple(dict.fromkeys(m for d in detectors.values() for m in (d.num_method, d.cat_method)))
    ks_thresholds = tuple(d.threshold("numeric") for d in detectors.values() if d.num_method == "ks")
    plans = {}
    for name, d in detectors.items():
        method = np.array([d.method(k) for k in kinds])
        plans[name] = (method, np.array([methods.index(m) for m in method]),
                       np.array([d.threshold(k) for k in kinds]))
    rows = []
    for i, w in enumerate(windows):
        values = reference.score_array(encoded, w, methods, ks_thresholds)
        for name, (method, col, threshold) in plans.items():
            score = values[np.arange(len(kinds)), col]
            hit = np.zeros(len(kinds), dtype=bool)
            for m in set(method):
                sel = method == m
                hit[sel] = drifted(m, score[sel], threshold[sel])
            rows.append({"window": i, "detector": name, "n_drifted": int(hit.sum()),
                         "drifted_columns": ", ".join(names[hit]), "fired": bool(hit.any())})
    return pd.DataFrame(rows)


def alerts(fired: Sequence[bool], persistence: int = 1) -> np.ndarray:
    """Whether an alert is up at each window: the last `persistence` windows (this one included) all fired."""
    if persistence < 1:
        raise ValueError(f"persistence must be at least 1, got {persistence}")
    fire = np.asarray(fired, dtype=bool)
    run = np.zeros(len(fire), dtype=int)
    for i, f in enumerate(fire):
        run[i] = run[i - 1] + 1 if f and i else int(f)
    return run >= persistence


def detection_delay(alerted: Sequence[bool], onset: int) -> int | None:
    """Windows from the onset to the first alert at or after it (0: the onset window); None if none."""
    after = np.flatnonzero(np.asarray(alerted, dtype=bool)[onset:])
    return int(after[0]) if after.size else None
