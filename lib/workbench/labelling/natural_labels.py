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


def labelled_by(times: Sequence | np.ndarray, now: np.datetime64 | pd.Timestamp, delay_days: float) -> np.ndarray:
    """Rows whose event happened before `now` and whose label has arrived: time + delay <= now."""
    t = np.asarray(times, dtype="datetime64[ns]")
    now = np.datetime64(now, "ns")  # type: ignore[call-overload]
    if delay_days < 0:
        raise ValueError(f"label delay must be zero or more days, got {delay_days}")
    delay = np.timedelta64(int(round(delay_days * 86_400)), "s")
    return (t < now) & (t + delay <= now)


def availability(times: Sequence | np.ndarray, now: np.datetime64 | pd.Timestamp, delays: Sequence[float],
                 windows: Sequence[float]) -> pd.DataFrame:
    """Share of the rows in each window of days before `now` whose labels have arrived, per label delay.

    Rows are delays (days), columns 'last N days' ('last 1 day'); a window holds the rows with
    now - N days <= time < now.
    """
    import pandas as pd

    t = np.asarray(times, dtype="datetime64[ns]")
    now64 = np.datetime64(now, "ns")  # type: ignore[call-overload]
    table = {}
    for w in windows:
        in_window = (t < now64) & (t >= now64 - np.timedelta64(int(round(w * 86_400)), "s"))
        n = int(in_window.sum())
        table[f"last {w:g} day{'' if w == 1 else 's'}"] = [
            float((labelled_by(t, now64, d) & in_window).sum() / n) if n else np.nan for d in delays
        ]
    return pd.DataFrame(table, index=pd.Index([float(d) for d in delays], name="delay_days"))
