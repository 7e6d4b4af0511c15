"""Windows, detectors, alert rules and rare-level pooling (workbench.monitoring.alerts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.monitoring import alerts, drift, shifts

KINDS = {"x": "numeric", "z": "numeric", "colour": "categorical", "size": "categorical"}


def population(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame({
        "x": x, "z": rng.gamma(2.0, 1.0, n),
        "colour": pd.Categorical(rng.choice(["red", "blue", "green"], n, p=[0.5, 0.3, 0.2])),
        "size": rng.choice(["S", "M", "L", "XL"], n, p=[0.3, 0.4, 0.2, 0.1]),
    })
    return frame, (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)


def test_detectors_divide_alpha_under_bonferroni_and_keep_effect_thresholds() -> None:
    plain = alerts.detectors(0.05, "none", 0.2, n_columns=10)
    corrected = alerts.detectors(0.05, "bonferroni", 0.2, n_columns=10)
    assert plain["ks_chi2"].threshold("numeric") == 0.05
    assert corrected["ks_chi2"].threshold("categorical") == pytest.approx(0.005)
    assert corrected["psi"].threshold("numeric") == 0.2 and corrected["wasserstein"].num_method == "wasserstein"
    assert set(plain) == set(alerts.DETECTORS)
    with pytest.raises(ValueError, match="correction"):
        alerts.detectors(correction="holm")


def test_time_order_sorts_by_time_and_shuffles_ties_reproducibly() -> None:
    times = pd.Series(pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"] * 40))
    order = alerts.time_order(times, seed=3)
    assert times.iloc[order].is_monotonic_increasing
    assert np.array_equal(order, alerts.time_order(times, seed=3))
    assert not np.array_equal(order, alerts.time_order(times, seed=4)), "ties come in a seeded random order"
    assert not np.array_equal(order[:40], np.sort(order[:40]))


def test_windows_and_rows_per_day() -> None:
    parts = alerts.windows(np.arange(10), 3)
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    hourly = pd.Series(pd.date_range("2024-01-01", periods=24 * 10, freq="h"))
    assert alerts.rows_per_day(hourly) == pytest.approx(24.0)
    yearly = pd.Series(pd.to_datetime(["2015-01-01"] * 50 + ["2016-01-01"] * 50))
    assert alerts.rows_per_day(yearly) == pytest.approx(100 / 730)


@pytest.mark.parametrize("persistence", [1, 2, 3])
def test_alerts_need_persistence_consecutive_firing_windows(persistence: int) -> None:
    fired = np.random.default_rng(persistence).random(60) < 0.5
    brute = [i + 1 >= persistence and fired[i + 1 - persistence:i + 1].all() for i in range(len(fired))]
    assert alerts.alerts(fired, persistence).tolist() == brute
    alerted = alerts.alerts(fired, persistence)
    onset = 20
    expected = next((i - onset for i in range(onset, 60) if alerted[i]), None)
    assert alerts.detection_delay(alerted, onset) == expected
    assert alerts.detection_delay(np.zeros(5, bool), 2) is None


def test_pool_rare_merges_rare_and_unseen_levels_and_keeps_category_order() -> None:
    reference = pd.DataFrame({"c": pd.Categorical(["a"] * 90 + ["b"] * 8 + ["c"] * 2, categories=["c", "b", "a"]),
                              "s": ["x"] * 99 + ["y"]})
    frame = pd.DataFrame({"c": pd.Categorical(["a", "c", None, "b"], categories=["c", "b", "a"]),
                          "s": ["x", "y", "new", None]})
    out = alerts.pool_rare(frame, {"c": "categorical", "s": "categorical"}, reference, min_share=0.05)
    assert list(out["c"].cat.categories) == ["b", "a", alerts.RARE]
    assert out["c"].tolist()[:2] == ["a", alerts.RARE] and pd.isna(out["c"].iloc[2])
    assert out["s"].tolist()[:3] == ["x", alerts.RARE, alerts.RARE] and pd.isna(out["s"].iloc[3])


def test_scan_counts_the_columns_each_detector_finds_drifted() -> None:
    frame, _ = population(20_000, 0)
    reference = drift.Reference(frame.iloc[:8000], KINDS)
    encoded = reference.encode(frame)
    windows = alerts.windows(np.arange(8000, 20_000), 3000)
    dets = alerts.detectors(0.05, "none", 0.05)
    scan = alerts.scan(reference, encoded, windows, dets)
    assert len(scan) == len(windows) * len(dets)
    for _, row in scan.iterrows():
        table = reference.compare(encoded, dets[row["detector"]], rows=windows[row["window"]])
        assert row["n_drifted"] == table["drifted"].sum() and row["fired"] == table["drifted"].any()
        assert row["drifted_columns"] == ", ".join(table.index[table["drifted"]])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_an_injected_shift_raises_an_alert_after_its_onset_and_not_before(seed: int) -> None:
    """At the notebook's defaults: magnitude 0.5, alpha 0.01 with Bonferroni, 2 firing windows in a row."""
    frame, y = population(60_000, seed)
    reference = frame.iloc[:15_000]
    pool, pool_y = frame.iloc[15_000:].reset_index(drop=True), y[15_000:]
    onset = 10
    stream = shifts.stream(pool, pool_y, reference, y[:15_000], shift=shifts.Shift("covariate", 0.5, "x"),
                           n_windows=onset + 6, size=2000, onset=onset, seed=seed)
    prepared = drift.Reference(reference, KINDS)
    for name, detector in alerts.detectors(0.01, "bonferroni", 0.1, n_columns=len(KINDS)).items():
        scan = alerts.scan(prepared, prepared.encode(pool), [w.rows for w in stream], {name: detector})
        alerted = alerts.alerts(scan["fired"], persistence=2)
        assert not alerted[:onset].any(), (name, scan)
        assert alerts.detection_delay(alerted, onset) in (0, 1, 2), (name, scan)


def test_timebase_tells_timestamps_from_periods_and_counts_windows_in_each() -> None:
    stamps = pd.Series(pd.date_range("2024-01-01", periods=24 * 60, freq="h"))
    tb = alerts.timebase(stamps)
    assert tb.timestamps and tb.unit == "day" and tb.budget_unit == "month"
    assert tb.rows_per_unit == pytest.approx(24.0)
    assert tb.windows_per_budget_unit(48) == pytest.approx(24 * 30.44 / 48)
    assert tb.delay_windows(2, 12) == 4 and tb.delay_windows(0, 12) == 0
    years = pd.Series(pd.to_datetime(np.repeat(["2015-01-01", "2016-01-01", "2017-01-01"], [100, 120, 140])))
    tb = alerts.timebase(years)
    assert not tb.timestamps and tb.unit == "year" and tb.budget_unit == "year"
    assert tb.rows_per_unit == pytest.approx(120.0) and tb.windows_per_budget_unit(40) == pytest.approx(3.0)
    assert tb.delay_windows(365, 40) == 3, "a year's delay: one period of windows"
    assert tb.delay_windows(400, 40) == 6
    months = pd.Series(pd.date_range("2020-01-31", periods=12, freq="ME").repeat(5))
    assert alerts.timebase(months).unit == "month"
    with pytest.raises(ValueError, match="two distinct times"):
        alerts.timebase(pd.Series(pd.to_datetime(["2020-01-01"] * 3)))


def test_period_windows_never_cross_a_period_and_drop_each_remainder() -> None:
    times = pd.Series(pd.to_datetime(np.repeat(["2016-01-01", "2017-01-01"], [25, 31])))
    positions = np.arange(100, 156)
    wins = alerts.period_windows(positions, times, 10, seed=3)
    assert len(wins) == 2 + 3 and all(len(w) == 10 for w in wins)
    year = dict(zip(positions, times.dt.year))
    assert [len({year[p] for p in w}) for w in wins] == [1] * 5
    assert [year[w[0]] for w in wins] == [2016, 2016, 2017, 2017, 2017], "periods in time order"
    assert len({p for w in wins for p in w}) == 50
    assert not np.array_equal(wins[0], positions[:10]), "rows inside a period come in a random order"


def test_auto_window_is_the_largest_size_that_fits_the_pool_and_the_later_rows() -> None:
    assert alerts.auto_window(35_000, 200_000) == 2000
    assert alerts.auto_window(3_850, 33_000) == 500  # the 44,000-row table a user once ran
    assert alerts.auto_window(100_000, 4_000) == 250  # few later rows: at least 10 windows
    with pytest.raises(ValueError, match="too few rows to monitor"):
        alerts.auto_window(100, 100)
