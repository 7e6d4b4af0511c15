"""A case's rows in time order, encoded once, and what scores on them cost day by day.

Experiments that replay time (retraining cadence, monitoring) slice one `Timeline` instead of
re-encoding the data for every model: rows sorted by time, features as a float matrix (categorical
columns as codes), a day index with the offset of each day's first row, and a fixed random sample
of training rows per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError
from workbench.modelling.metrics import per_1000, roc_auc

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["Timeline", "daily_costs", "day_counts", "encode", "summary"]


@dataclass(frozen=True)
class Timeline:
    """A case's rows in time order, encoded once: features, 0/1 labels, day index, training sample."""

    X: np.ndarray  # float32 features; categorical columns hold codes (NaN when missing)
    y: np.ndarray  # 0/1 labels
    day: np.ndarray  # day index of each row: whole days since first_date
    first_date: pd.Timestamp
    n_days: int
    features: tuple[str, ...]
    categorical: tuple[int, ...]  # positions of the categorical columns in X
    sample: np.ndarray  # sorted positions of the rows a model may train on (<= rows_per_day a day)
    starts: np.ndarray  # starts[d]: first row of day d (length n_days + 1)
    sample_starts: np.ndarray  # the same offsets into sample
    scored: np.ndarray | None = None  # sorted positions of the rows a replay predicts (None: every row)
    scored_starts: np.ndarray | None = None  # the same offsets into scored

    def rows(self, lo: int, hi: int) -> slice:
        """All rows of days [lo, hi)."""
        return slice(int(self.starts[lo]), int(self.starts[hi]))

    def train_rows(self, lo: int, hi: int) -> np.ndarray:
        """The sampled training rows of days [lo, hi)."""
        return self.sample[self.sample_starts[lo]:self.sample_starts[hi]]

    def score_rows(self, lo: int, hi: int) -> np.ndarray:
        """The rows of days [lo, hi) that a replay predicts: all of them, or the scoring sample's."""
        if self.scored is None or self.scored_starts is None:
            return np.arange(self.starts[lo], self.starts[hi])
        return self.scored[self.scored_starts[lo]:self.scored_starts[hi]]

    def date(self, d: int) -> pd.Timestamp:
        """The calendar date of day index d."""
        import pandas as pd

        return self.first_date + pd.Timedelta(days=int(d))


def _times(case: Case, df: pd.DataFrame, start: str | None, end: str | None) -> tuple[pd.Series, np.ndarray]:
    """The case's event times, and which rows fall within [start, end] (dates, inclusive)."""
    import pandas as pd

    if not case.time_column:
        raise WorkbenchError(f"case '{case.id}' has no time_column: replaying time needs event times")
    when = pd.to_datetime(df[case.time_column])
    keep = np.ones(len(df), dtype=bool)
    if start:
        keep &= (when >= pd.Timestamp(start)).to_numpy()
    if end:
        keep &= (when < pd.Timestamp(end) + pd.Timedelta(days=1)).to_numpy()
    if not keep.any():
        raise WorkbenchError(f"no rows of case '{case.id}' between start={start} and end={end}")
    return when, keep


def day_counts(case: Case, *, data: pd.DataFrame | None = None, start: str | None = None,
               end: str | None = None) -> pd.Series:
    """Rows on each calendar day from the first to the last (days without rows count 0).

    A time column that records a year or a month (e.g. a survey year stored as 1 January) leaves
    most days empty: such a case has no day-level time to replay.
    """
    import pandas as pd

    when, keep = _times(case, case.frame() if data is None else data, start, end)
    days = when[keep].dt.normalize()
    counts = days.value_counts()
    calendar = pd.date_range(days.min(), days.max(), freq="D")
    return counts.reindex(calendar, fill_value=0).rename("rows").rename_axis("date")


def _per_day(day: np.ndarray, starts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of at most k rows a day, drawn at random (every row when k is 0)."""
    if not k:
        return np.arange(len(day))
    # a random key per row; within each day, keep the rows with the smallest keys
    keys = rng.random(len(day))
    by_day = np.lexsort((keys, day))
    rank = np.arange(len(day)) - starts[day[by_day]]
    return np.sort(by_day[rank < k])


def encode(case: Case, *, data: pd.DataFrame | None = None, start: str | None = None,
           end: str | None = None, rows_per_day: int = 0, seed: int = 0,
           include_leaky: bool = False, scored_per_day: int = 0) -> Timeline:
    """Encode a case with a time column once (its numeric and categorical features).

    `start` and `end` (dates, inclusive) restrict the rows. Categorical codes are the sorted
    levels' positions: a lookup table that carries no label information. At most rows_per_day
    rows a day (0: all) are drawn at random for training, and, independently, at most
    scored_per_day rows a day (0: all) for replays to predict and score.
    """
    import pandas as pd

    df = case.frame() if data is None else data
    when, keep = _times(case, df, start, end)
    order = np.flatnonzero(keep)[np.argsort(when.to_numpy()[keep], kind="stable")]
    frame = df.iloc[order]
    dates = when.iloc[order].dt.normalize()
    first = dates.iloc[0]
    day = ((dates - first).dt.days).to_numpy(dtype=np.int32)
    n_days = int(day[-1]) + 1
    features = case.feature_columns(("numeric", "categorical"), include_leaky)
    if not features:
        raise WorkbenchError(f"case '{case.id}' has no numeric or categorical features to train on")
    columns, categorical = [], []
    for i, col in enumerate(features):
        if case.features[col] == "categorical":
            codes, _ = pd.factorize(frame[col], sort=True)
            columns.append(np.where(codes < 0, np.nan, codes).astype(np.float32))
            categorical.append(i)
        else:
            columns.append(pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float32))
    starts = np.searchsorted(day, np.arange(n_days + 1)).astype(np.int64)
    sample = _per_day(day, starts, rows_per_day, np.random.default_rng(seed))
    scored = _per_day(day, starts, scored_per_day, np.random.default_rng([seed, 1])) if scored_per_day else None
    return Timeline(
        X=np.column_stack(columns), y=case.labels(frame), day=day, first_date=first, n_days=n_days,
        features=tuple(features), categorical=tuple(categorical), sample=sample, starts=starts,
        sample_starts=np.searchsorted(day[sample], np.arange(n_days + 1)), scored=scored,
        scored_starts=None if scored is None else np.searchsorted(day[scored], np.arange(n_days + 1)),
    )


def daily_costs(tl: Timeline, score: np.ndarray, threshold: float, cost_fp: float,
                cost_fn: float) -> pd.DataFrame:
    """Per scored day: rows, positives, flagged, false positives and negatives, cost and log-loss sum.

    A row is flagged when its score >= threshold; rows without a score are left out.
    """
    import pandas as pd

    ok = np.isfinite(score)
    d, y, p = tl.day[ok], tl.y[ok].astype(bool), score[ok]
    flag = p >= threshold
    eps = 1e-7
    loss = -np.where(y, np.log(np.clip(p, eps, 1)), np.log(np.clip(1 - p, eps, 1)))

    def per_day(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(d, weights=weights, minlength=tl.n_days)

    out = pd.DataFrame({
        "date": [tl.date(i) for i in range(tl.n_days)],
        "rows": per_day().astype(np.int64),
        "positives": per_day(y.astype(float)).astype(np.int64),
        "flagged": per_day(flag.astype(float)).astype(np.int64),
        "fp": per_day((flag & ~y).astype(float)).astype(np.int64),
        "fn": per_day((~flag & y).astype(float)).astype(np.int64),
        "log_loss_sum": per_day(loss),
    })
    out["cost"] = out["fp"] * cost_fp + out["fn"] * cost_fn
    return out[out["rows"] > 0].reset_index(drop=True)


def summary(tl: Timeline, score: np.ndarray, threshold: float, cost_fp: float, cost_fn: float) -> dict[str, float]:
    """Totals over the scored rows: rows, fp, fn, cost per 1,000 decisions, mean log loss, ROC-AUC."""
    days = daily_costs(tl, score, threshold, cost_fp, cost_fn)
    ok = np.isfinite(score)
    n = int(days["rows"].sum())
    y = tl.y[ok]
    return {
        "rows": n,
        "fp": int(days["fp"].sum()),
        "fn": int(days["fn"].sum()),
        "cost_per_1000": per_1000(days["cost"].sum(), n),
        "log_loss": float(days["log_loss_sum"].sum()) / n,
        "roc_auc": roc_auc(y, score[ok]) if 0 < y.sum() < n else float("nan"),
    }
