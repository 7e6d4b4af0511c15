"""Train/test splits that respect time where the case has a time column."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["SPLITS", "group_split", "split", "subsample", "windows"]

SPLITS = ("auto", "time", "random")


def split(case: Case, *, kind: str = "auto", test_size: float = 0.25, seed: int = 0,
          data: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of train and test.

    `time` puts the latest `test_size` of rows in test; rows that share the cut-off time all go to
    test, so no moment is split across both. `random` is a stratified shuffle. `auto` is `time`
    when the case has a time column, else `random`.
    """
    df = case.frame() if data is None else data
    if kind not in SPLITS:
        raise WorkbenchError(f"split kind '{kind}' is not one of {', '.join(SPLITS)}")
    if not 0 < test_size < 1:
        raise WorkbenchError(f"test_size must be between 0 and 1, got {test_size}")
    n = len(df)
    n_test = math.ceil(test_size * n)
    if kind == "auto":
        kind = "time" if case.time_column else "random"
    if kind == "time":
        if not case.time_column:
            raise WorkbenchError(f"case '{case.id}' has no time_column, so it cannot be split by time")
        times = df[case.time_column].to_numpy()
        cutoff = np.sort(times, kind="stable")[n - n_test]
        test_mask = times >= cutoff
        return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(n), test_size=n_test, random_state=seed,
                                   stratify=case.labels(df))
    return np.sort(train), np.sort(test)


def group_split(groups: np.ndarray, *, test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of train and test with every group (an entity, a day) wholly on one side.

    Groups are shuffled (seeded) and held out whole until at least ceil(test_size * n) rows are
    in test, so no entity is seen in training and judged in test. Missing values form one group.
    """
    import pandas as pd

    if not 0 < test_size < 1:
        raise WorkbenchError(f"test_size must be between 0 and 1, got {test_size}")
    codes, uniques = pd.factorize(pd.Series(groups, dtype=object), use_na_sentinel=False)
    if len(uniques) < 2:
        raise WorkbenchError(f"a group split needs at least two groups, got {len(uniques)}")
    sizes = np.bincount(codes, minlength=len(uniques))
    order = np.random.default_rng(seed).permutation(len(uniques))
    n_test = math.ceil(test_size * len(codes))
    taken = int(np.searchsorted(np.cumsum(sizes[order]), n_test)) + 1
    held = np.zeros(len(uniques), dtype=bool)
    held[order[:min(taken, len(uniques) - 1)]] = True  # at least one group stays in training
    test_mask = held[codes]
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def subsample(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """At most max_rows of rows, drawn without replacement (order kept); all when max_rows is None or 0."""
    if not max_rows or len(rows) <= max_rows:
        return rows
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, size=max_rows, replace=False))


def windows(case: Case, rows: np.ndarray, n: int, *, seed: int = 0,
            data: pd.DataFrame | None = None) -> list[np.ndarray]:
    """`rows` cut into n consecutive time windows (equal row counts), or n random folds without time.

    Each window is sorted. Windows are cut by row count, so rows that share a time may fall on
    both sides of a cut: they compare periods, they do not hold out data.
    """
    df = case.frame() if data is None else data
    if n < 1 or n > len(rows):
        raise WorkbenchError(f"cannot cut {len(rows)} rows into {n} windows")
    rows = np.asarray(rows)
    if case.time_column:
        times = df[case.time_column].to_numpy()[rows]
        ordered = rows[np.argsort(times, kind="stable")]
    else:
        ordered = np.random.default_rng(seed).permutation(rows)
    return [np.sort(w) for w in np.array_split(ordered, n)]
