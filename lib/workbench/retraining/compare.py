"""Comparing replays of the same days: costs per 1,000 predictions over a period, and paired differences.

Errors on one day are not independent (a storm delays many flights at once), so intervals here
resample whole days of a replay, not rows: a paired percentile bootstrap over days, where both
options are scored on the same resampled days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError
from workbench.modelling.intervals import Interval, bootstrap_rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["day_costs", "day_difference", "per_1000_days"]


def day_costs(daily: dict[str, pd.DataFrame], days: pd.DatetimeIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each option's error cost per day (days x options, in the order of `daily`) and the rows predicted each day.

    `daily` maps an option to its `timelines.daily_costs` frame; every option must have scored the
    same rows (a replay comparison). `days` restricts the result to those dates.
    """
    import pandas as pd

    frames = {name: d.set_index("date") for name, d in daily.items()}
    first = next(iter(frames.values()))
    index = first.index if days is None else first.index.intersection(pd.DatetimeIndex(days))
    rows = first.loc[index, "rows"].to_numpy(dtype=float)
    for name, d in frames.items():
        if not d.index.equals(first.index) or not np.array_equal(d["rows"].to_numpy(), first["rows"].to_numpy()):
            raise WorkbenchError(f"option '{name}' scored other rows than '{next(iter(frames))}': "
                                 "compare replays of the same days only")
    return np.column_stack([frames[name].loc[index, "cost"].to_numpy(dtype=float) for name in frames]), rows


def per_1000_days(cost: np.ndarray, rows: np.ndarray) -> float:
    """Cost per 1,000 predictions over days: 1,000 x the summed cost over the summed rows."""
    n = float(np.sum(rows))
    if n <= 0:
        raise WorkbenchError("no predictions in these days")
    return 1000.0 * float(np.sum(cost)) / n


def day_difference(cost_a: np.ndarray, cost_b: np.ndarray, rows: np.ndarray, *, fixed: float = 0.0,
                   n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> Interval:
    """Cost per 1,000 predictions of A minus B over the same days, with a paired bootstrap over days.

    cost_a and cost_b hold each day's error cost under A and B, rows the predictions of each day;
    `fixed` is a difference per 1,000 that does not depend on which days are drawn (e.g. A's
    training runs minus B's).
    """
    a, b, r = (np.asarray(v, dtype=float) for v in (cost_a, cost_b, rows))
    if not len(a) == len(b) == len(r) or not len(r):
        raise WorkbenchError(f"need one cost of A ({len(a)}), of B ({len(b)}) and one row count ({len(r)}) per day")
    diff = a - b

    def statistic(days: np.ndarray) -> float:
        n = r[days].sum()
        return 1000.0 * diff[days].sum() / n + fixed if n > 0 else float("nan")

    out = bootstrap_rows(len(r), statistic, n_boot=n_boot, level=level, seed=seed)
    return Interval(out.value, out.lo, out.hi, level, f"paired percentile bootstrap over {len(r)} days, {n_boot} resamples")
