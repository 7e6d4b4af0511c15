"""Natural labels and feedback delay: which rows have their label by a given moment.

A natural label (did the flight arrive late? did the loan default?) arrives some time after the
prediction. At the moment we retrain, the newest rows have no label yet, so the freshest data,
the data most like tomorrow's, is the data we cannot train on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["availability", "labelled_by"]


def _days(days: float) -> np.timedelta64:
    return np.timedelta64(int(round(days * 86_400)), "s")


def labelled_by(times: Sequence | np.ndarray, now: np.datetime64 | pd.Timestamp, delay_days: float,
                lead_days: float = 0.0) -> np.ndarray:
    """Rows whose label had arrived when a prediction about `now` was made, lead_days before it.

    The prediction is made at now - lead; a row counts when it happened before then and its label
    arrived by then: time < now - lead and time + delay <= now - lead.
    """
    t = np.asarray(times, dtype="datetime64[ns]")
    now = np.datetime64(now, "ns")  # type: ignore[call-overload]
    if delay_days < 0 or lead_days < 0:
        raise ValueError(f"label delay and prediction lead must be zero or more days, got {delay_days} and {lead_days}")
    made = now - _days(lead_days)
    return (t < made) & (t + _days(delay_days) <= made)


def availability(times: Sequence | np.ndarray, now: np.datetime64 | pd.Timestamp, delays: Sequence[float],
                 windows: Sequence[float], *, lead_days: float = 0.0) -> pd.DataFrame:
    """Share of the rows in each window of days before `now` whose labels had arrived at prediction time, per delay.

    Predictions about `now` are made lead_days before it (see `labelled_by`). Rows are delays (days),
    columns 'last N days' ('last 1 day'); a window holds the rows with now - N days <= time < now.
    """
    import pandas as pd

    t = np.asarray(times, dtype="datetime64[ns]")
    now64 = np.datetime64(now, "ns")  # type: ignore[call-overload]
    table = {}
    for w in windows:
        in_window = (t < now64) & (t >= now64 - _days(w))
        n = int(in_window.sum())
        table[f"last {w:g} day{'' if w == 1 else 's'}"] = [
            float((labelled_by(t, now64, d, lead_days) & in_window).sum() / n) if n else np.nan for d in delays
        ]
    return pd.DataFrame(table, index=pd.Index([float(d) for d in delays], name="delay_days"))
