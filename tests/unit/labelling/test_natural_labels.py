"""Label delay: which rows have their natural label at a given moment, checked row by row."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from workbench.labelling import natural_labels


@pytest.fixture
def times() -> pd.Series:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-01-01")
    return pd.Series(start + pd.to_timedelta(np.sort(rng.uniform(0, 120, 2000)), unit="D")).dt.floor("s")


def test_labelled_by_is_event_before_now_and_label_arrived(times: pd.Series) -> None:
    now = pd.Timestamp("2024-03-15 12:00")
    for delay in (0, 0.5, 1, 7, 30):
        got = natural_labels.labelled_by(times, now, delay)
        expected = [t.to_pydatetime() < now and t.to_pydatetime() + timedelta(days=delay) <= now for t in times]
        assert got.tolist() == expected, delay
    with pytest.raises(ValueError, match="zero or more"):
        natural_labels.labelled_by(times, now, -1)


def test_availability_is_the_labelled_share_of_each_recent_window(times: pd.Series) -> None:
    now = datetime(2024, 3, 15, 12)
    table = natural_labels.availability(times.to_numpy(), now, [0, 1, 7, 30], [1, 7, 30])
    assert list(table.columns) == ["last 1 day", "last 7 days", "last 30 days"]
    stamps = [t.to_pydatetime() for t in times]
    for delay in (0, 1, 7, 30):
        for window in (1, 7, 30):
            in_window = [now - timedelta(days=window) <= t < now for t in stamps]
            labelled = [w and t + timedelta(days=delay) <= now for w, t in zip(in_window, stamps)]
            col = "last 1 day" if window == 1 else f"last {window} days"
            assert table.loc[float(delay), col] == pytest.approx(sum(labelled) / sum(in_window))
    assert (table["last 7 days"].diff().dropna() <= 0).all(), "a longer delay never labels more rows"
    assert table.loc[0.0].eq(1).all() and table.loc[30.0, "last 7 days"] == 0


def test_an_empty_window_has_no_share() -> None:
    table = natural_labels.availability(pd.to_datetime(["2024-01-01"]), pd.Timestamp("2024-06-01"), [0], [1])
    assert np.isnan(table.iloc[0, 0])


def test_a_prediction_made_ahead_sees_only_labels_arrived_by_then(times: pd.Series) -> None:
    now = pd.Timestamp("2024-03-15 12:00")
    made = now - timedelta(days=21)
    for delay in (0, 1, 7):
        got = natural_labels.labelled_by(times, now, delay, lead_days=21)
        expected = [t < made and t + timedelta(days=delay) <= made for t in times]
        assert got.tolist() == expected, delay
    table = natural_labels.availability(times.to_numpy(), now, [1], [7, 30], lead_days=21)
    assert table.loc[1.0, "last 7 days"] == 0, "a week before the event is after the prediction: nothing labelled"
    in_month = [(now - timedelta(days=30) <= t < now) for t in times]
    labelled = [w and t + timedelta(days=1) <= made for w, t in zip(in_month, times)]
    assert table.loc[1.0, "last 30 days"] == pytest.approx(sum(labelled) / sum(in_month))
    with pytest.raises(ValueError, match="zero or more"):
        natural_labels.labelled_by(times, now, 1, lead_days=-1)
