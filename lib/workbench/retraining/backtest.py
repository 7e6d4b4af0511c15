"""Replay a time-stamped case day by day to compare retraining cadences and styles.

A plan is a list of `Update`s: the model trained at the start of `day` on the rows of days
[train_from, train_to) serves days [day, until). `Backtester.run` replays a plan on a
`timelines.Timeline`: every scored row is predicted by the latest model trained strictly before its day, and
cold fits of the same window are done once and shared between plans (daily, weekly and monthly
retraining mostly train the same windows).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.retraining.timelines import Timeline

__all__ = ["WINDOWS", "Backtester", "Replay", "Update", "freshness_plan", "n_updates", "plan"]

WINDOWS = ("sliding", "expanding")


@dataclass(frozen=True)
class Update:
    """One training run: the model trained at the start of `day` on days [train_from, train_to) serves days [day, until).

    A warm update continues the previous model on its days only (stateful); a cold one fits from scratch.
    """

    day: int
    until: int
    train_from: int
    train_to: int
    warm: bool = False


def n_updates(n_days: int, first_day: int, cadence: int) -> int:
    """Training runs of a replay that deploys on first_day and retrains every `cadence` days (0: never)."""
    return 1 if cadence == 0 else math.ceil((n_days - first_day) / cadence)


def _check_times(gap_days: int, lead_days: int) -> None:
    if gap_days < 1 or lead_days < 0:
        raise WorkbenchError(f"need gap_days >= 1 and lead_days >= 0 (got {gap_days}, {lead_days})")


def plan(n_days: int, *, first_day: int, cadence: int, window: str = "sliding", window_days: int = 30,
         gap_days: int = 1, lead_days: int = 0, stateful: bool = False) -> list[Update]:
    """The updates of a replay: the rows of day first_day on are predicted; retrain every `cadence` days (0: never).

    Days are the days of the rows predicted. A row of day d is predicted lead_days before d (e.g. at
    booking), by the model in production then, which could only train on labels that had arrived:
    a label is usable gap_days after its row's day (at least 1), so the model serving day d trains
    on days before d - lead_days - gap_days + 1: the last window_days of them (sliding) or all
    (expanding). Stateful: after the first model, each update continues the previous model on the
    days that became usable since.
    """
    if window not in WINDOWS:
        raise WorkbenchError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    _check_times(gap_days, lead_days)
    if window_days < 1 or cadence < 0:
        raise WorkbenchError(f"need window_days >= 1 and cadence >= 0 (got {window_days}, {cadence})")
    if not gap_days + lead_days <= first_day < n_days:
        raise WorkbenchError(f"the first predicted day is day {first_day}, which must leave at least "
                             f"{gap_days + lead_days} day(s) of training data before it (label delay "
                             f"{gap_days} + prediction lead {lead_days}) and lie within the {n_days} days replayed")
    days = [first_day] if cadence == 0 else list(range(first_day, n_days, cadence))
    updates, prev_to = [], 0
    for i, d in enumerate(days):
        until = days[i + 1] if i + 1 < len(days) else n_days
        to = d - lead_days - gap_days + 1
        if stateful and i > 0:
            updates.append(Update(d, until, prev_to, to, warm=True))
        else:
            frm = 0 if window == "expanding" else max(0, to - window_days)
            updates.append(Update(d, until, frm, to))
        prev_to = to
    return updates


def freshness_plan(n_days: int, *, test_from: int, age: int, window_days: int, block_days: int,
                   gap_days: int = 1, lead_days: int = 0, test_to: int | None = None) -> list[Update]:
    """Models of one age for the value-of-freshness experiment.

    Days [test_from, test_to) (test_to: n_days by default) are cut into blocks of block_days; each
    block is served by a model trained on the window_days that end `age` days before the freshest
    data usable when the block's first day is predicted (lead_days before it, with labels usable
    gap_days after their day, as in `plan`).
    """
    _check_times(gap_days, lead_days)
    if age < 0 or block_days < 1 or window_days < 1:
        raise WorkbenchError("need age >= 0, block_days >= 1 and window_days >= 1")
    end = n_days if test_to is None else test_to
    if not 0 <= test_from < end <= n_days:
        raise WorkbenchError(f"the freshness test period [{test_from}, {end}) must be non-empty and within {n_days} days")
    updates = []
    for b in range(test_from, end, block_days):
        to = b - lead_days - gap_days + 1 - age
        if to - window_days < 0:
            raise WorkbenchError(f"a {window_days}-day window ending {age} days before day {b} starts before "
                                 f"the data: test from a later day, or use smaller ages or windows")
        updates.append(Update(b, min(b + block_days, end), to - window_days, to))
    return updates


@dataclass
class Replay:
    """What a replay did: each row's score and the update that served it, and each update's work."""

    updates: list[Update]
    score: np.ndarray  # probability for each row; NaN where no model served
    served_by: np.ndarray  # index of the update whose model scored each row; -1 where none did
    rows: np.ndarray  # training rows each update read
    seconds: np.ndarray  # training time of each update (a shared fit counts its one-off time)
    trees: np.ndarray  # trees in each update's model


class Backtester:
    """Replays plans on a timeline with one way of fitting, updating and scoring models.

    fit(X, y) -> model fits from scratch; update(model, X, y) -> model continues a model (needed
    for warm updates only); predict(model, X) -> probabilities; trees(model) -> model size.
    """

    def __init__(self, tl: Timeline, fit: Callable[[np.ndarray, np.ndarray], Any],
                 predict: Callable[[Any, np.ndarray], np.ndarray], *,
                 update: Callable[[Any, np.ndarray, np.ndarray], Any] | None = None,
                 trees: Callable[[Any], int] | None = None) -> None:
        self.tl, self._fit, self._predict, self._update = tl, fit, predict, update
        self._trees = trees or (lambda model: 0)
        self._cache: dict[tuple[int, int], tuple[Any, int, float]] = {}
        self.fits = 0  # cold fits actually run (cache misses)

    def fit_window(self, lo: int, hi: int) -> tuple[Any, int, float]:
        """A model fitted from scratch on the training rows of days [lo, hi): (model, rows, seconds); cached."""
        if (lo, hi) not in self._cache:
            rows = self.tl.train_rows(lo, hi)
            if len(rows) == 0:
                raise WorkbenchError(f"no training rows between {self.tl.date(lo):%Y-%m-%d} and "
                                     f"{self.tl.date(hi):%Y-%m-%d}: widen the window or start later")
            started = time.perf_counter()
            model = self._fit(self.tl.X[rows], self.tl.y[rows])
            self._cache[(lo, hi)] = (model, len(rows), time.perf_counter() - started)
            self.fits += 1
        return self._cache[(lo, hi)]

    def run(self, updates: list[Update], *, gap_days: int = 1, lead_days: int = 0) -> Replay:
        """Replay a plan; an update that could see a label not yet arrived when it predicts is refused.

        The first day an update serves is predicted lead_days before it, when only the labels of days
        before day - lead_days - gap_days + 1 had arrived (see `plan`).
        """
        _check_times(gap_days, lead_days)
        tl, n = self.tl, len(self.tl.y)
        score, served = np.full(n, np.nan), np.full(n, -1, dtype=np.int32)
        rows, seconds, trees = (np.zeros(len(updates), dtype=t) for t in (np.int64, float, np.int64))
        model, until = None, 0
        for i, u in enumerate(updates):
            arrived = u.day - lead_days - gap_days + 1
            if not (0 <= u.train_from < u.train_to <= arrived and u.day < u.until <= tl.n_days) or u.day < until:
                raise WorkbenchError(f"update {i} ({u}) must train only on labels that had arrived when it predicts "
                                     f"(days before {arrived}: label delay {gap_days} d, prediction lead {lead_days} d), "
                                     "serve days after the previous update's, and stay within the timeline")
            if u.warm:
                if model is None or self._update is None:
                    raise WorkbenchError(f"update {i} is warm, but there is no previous model or no update function")
                part = tl.train_rows(u.train_from, u.train_to)
                started = time.perf_counter()
                if len(part):  # no new rows: keep the model as it is
                    model = self._update(model, tl.X[part], tl.y[part])
                rows[i], seconds[i] = len(part), time.perf_counter() - started
            else:
                model, rows[i], seconds[i] = self.fit_window(u.train_from, u.train_to)
            trees[i] = self._trees(model)
            served_rows = tl.score_rows(u.day, u.until)
            if len(served_rows):
                score[served_rows] = self._predict(model, tl.X[served_rows])
                served[served_rows] = i
            until = u.until
        return Replay(list(updates), score, served, rows, seconds, trees)
