"""Train/test splits (workbench.modelling.splits)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.cases import load_case
from workbench.errors import WorkbenchError
from workbench.modelling import splits
from workbench.modelling.splits import split, subsample, windows


def test_time_split_trains_on_the_past_and_keeps_ties_together(tiny_case) -> None:
    case = load_case(tiny_case)
    df = case.frame()
    df.loc[295:305, "when"] = df.loc[300, "when"]  # a block of equal times around the cut
    train, test = split(case, kind="time", test_size=0.25, data=df)
    assert len(train) + len(test) == len(df) and not set(train) & set(test)
    assert df["when"].iloc[train].max() < df["when"].iloc[test].min()
    assert len(test) >= 100


def test_random_split_is_stratified_and_seeded(tiny_case) -> None:
    case = load_case(tiny_case)
    y = case.labels()
    train, test = split(case, kind="random", test_size=0.25, seed=3)
    assert len(test) == 100 and abs(y[test].mean() - y.mean()) < 0.01
    assert np.array_equal(test, split(case, kind="random", test_size=0.25, seed=3)[1])
    assert not np.array_equal(test, split(case, kind="random", test_size=0.25, seed=4)[1])


def test_auto_uses_time_when_the_case_has_it(tiny_case) -> None:
    case = load_case(tiny_case)
    assert np.array_equal(split(case, kind="auto")[1], split(case, kind="time")[1])
    case.time_column = None
    with pytest.raises(WorkbenchError, match="has no time_column"):
        split(case, kind="time")


def test_subsample_caps_rows_without_replacement() -> None:
    rows = np.arange(1000)
    got = subsample(rows, 100, seed=1)
    assert len(got) == 100 and len(set(got)) == 100 and np.all(np.diff(got) > 0)
    assert subsample(rows, 0, seed=1) is rows


def test_time_windows_are_consecutive_periods_that_partition_the_rows(tiny_case) -> None:
    case = load_case(tiny_case)
    times = case.frame()["when"].to_numpy()
    rows = np.random.default_rng(0).permutation(400)[:301]
    parts = windows(case, rows, 3)
    assert [len(p) for p in parts] == [101, 100, 100]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.sort(rows))
    for a, b in zip(parts, parts[1:]):
        assert times[a].max() < times[b].min()
    assert all(np.all(np.diff(p) > 0) for p in parts)


def test_windows_without_time_are_seeded_random_folds(tiny_case) -> None:
    case = load_case(tiny_case)
    case.time_column = None
    rows = np.arange(0, 400, 2)
    parts = windows(case, rows, 4, seed=1)
    assert np.array_equal(np.sort(np.concatenate(parts)), rows) and [len(p) for p in parts] == [50] * 4
    assert all(np.array_equal(a, b) for a, b in zip(parts, windows(case, rows, 4, seed=1)))
    assert not np.array_equal(parts[0], windows(case, rows, 4, seed=2)[0])
    assert not np.array_equal(parts[0], rows[:50]), "folds are shuffled, not blocks of row order"
    with pytest.raises(WorkbenchError, match="cannot cut"):
        windows(case, rows, 0)


def test_group_split_keeps_every_group_on_one_side_and_holds_out_enough_rows() -> None:
    rng = np.random.default_rng(0)
    groups = rng.choice([f"g{i}" for i in range(40)], size=1000)
    groups[:10] = None  # missing values form one group
    train, test = splits.group_split(groups, test_size=0.25, seed=1)
    assert len(train) + len(test) == 1000 and not set(train) & set(test)
    assert not set(map(str, groups[train])) & set(map(str, groups[test]))
    assert 250 <= len(test) < 250 + max(np.unique(groups.astype(str), return_counts=True)[1])
    again = splits.group_split(groups, test_size=0.25, seed=1)
    assert all((x == y).all() for x, y in zip(again, (train, test)))
    other = splits.group_split(groups, test_size=0.25, seed=2)
    assert not np.array_equal(other[1], test)
    with pytest.raises(WorkbenchError, match="at least two groups"):
        splits.group_split(np.array(["a"] * 5))
