"""The fast drift path (workbench.monitoring.drift) gives evidently's verdicts on the same frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.monitoring import drift, evidently_adapter

COLUMNS = {"x": "numeric", "age": "numeric", "count": "numeric", "colour": "categorical",
           "grade": "categorical", "flag": "categorical"}
DETECTORS = {
    "ks_chi2": drift.Detector("ks", "chisquare"),
    "psi": drift.Detector("psi", "psi"),
    "wasserstein": drift.Detector("wasserstein", "psi", 0.05, 0.02),
}


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Numeric (continuous, integer, few values) and categorical (category dtype, strings, binary) columns."""
    rng = np.random.default_rng(seed)
    grades = [f"G{i}" for i in range(12)]
    p = np.linspace(2, 1, 12) + shift * (np.arange(12) == 0)
    return pd.DataFrame({
        "x": rng.normal(0.15 * shift, 1.0, n),
        "age": np.clip(rng.normal(40 + 3 * shift, 15, n).round(), 0, 95).astype("int16"),
        "count": rng.poisson(2 + 0.3 * shift, n).astype(float),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])),
        "grade": rng.choice(grades, n, p=p / p.sum()),
        "flag": rng.choice(["yes", "no"], n, p=[0.3 + 0.05 * shift, 0.7 - 0.05 * shift]),
    })


CASES = [(2000, 700, 0, 0.0), (2000, 700, 1, 0.6), (2000, 700, 2, 0.0), (2000, 700, 3, 0.3),  # scipy's exact KS
         (14000, 3000, 0, 0.6), (14000, 3000, 1, 0.0), (14000, 3000, 2, 0.3), (14000, 3000, 3, 0.0)]  # asymptotic


@pytest.mark.parametrize("n_ref, n_cur, seed, shift", CASES)
def test_fast_verdicts_equal_evidentlys_for_every_detector(n_ref: int, n_cur: int, seed: int, shift: float) -> None:
    reference, current = frame(n_ref, seed), frame(n_cur, seed + 100, shift)
    prepared = drift.Reference(reference, COLUMNS)
    for name, detector in DETECTORS.items():
        fast = prepared.compare(current, detector)
        ev = evidently_adapter.drift_report(reference, current, COLUMNS, detector)
        assert fast["drifted"].tolist() == ev.table["drifted"].tolist(), (name, fast, ev.table)
        assert fast["method"].tolist() == ev.table["method"].tolist()
        # p-values far below the threshold may come from the KS limit law: close, not equal
        assert np.allclose(fast["score"], ev.table["score"], rtol=0.2, atol=1e-9), (name, fast, ev.table)
        exact = fast["method"].isin(["psi", "wasserstein", "chisquare"])
        assert np.allclose(fast["score"][exact], ev.table["score"][exact], rtol=1e-9, atol=1e-12)


def test_shifted_frames_drift_and_unshifted_ones_mostly_do_not() -> None:
    reference = drift.Reference(frame(14000, 0), COLUMNS)
    detector = drift.Detector("ks", "chisquare", 0.05 / 6, 0.05 / 6)
    assert reference.compare(frame(3000, 1, 0.6), detector)["drifted"].sum() >= 4
    assert reference.compare(frame(3000, 2), detector)["drifted"].sum() <= 1


def test_new_values_and_missing_values_are_judged_as_evidently_does() -> None:
    reference, current = frame(3000, 3), frame(900, 4, 0.3)
    current.loc[:40, "grade"] = "G99"  # a value the reference never had
    current.loc[50:80, "x"] = np.nan
    current["colour"] = current["colour"].cat.add_categories("purple")
    current.loc[90:95, "colour"] = "purple"
    for detector in DETECTORS.values():
        fast = drift.compare(reference, current, detector, COLUMNS)
        ev = evidently_adapter.drift_report(reference, current, COLUMNS, detector)
        assert fast["drifted"].tolist() == ev.table["drifted"].tolist()
    assert drift.compare(reference, current, DETECTORS["ks_chi2"], COLUMNS).loc["grade", "score"] == 0.0


def test_scoring_rows_of_an_encoded_frame_equals_scoring_that_slice() -> None:
    reference = drift.Reference(frame(12000, 5), COLUMNS)
    big = frame(9000, 6, 0.2)
    encoded = reference.encode(big)
    rows = np.sort(np.random.default_rng(0).choice(len(big), 2500, replace=False))
    by_rows = reference.scores(encoded, rows)
    by_slice = reference.scores(big.iloc[rows].reset_index(drop=True))
    pd.testing.assert_frame_equal(by_rows, by_slice)
    assert len(encoded) == len(big)


def test_detectors_refuse_methods_that_cannot_test_a_kind() -> None:
    with pytest.raises(ValueError, match="cannot test numeric"):
        drift.Detector("chisquare", "chisquare")
    with pytest.raises(ValueError, match="cannot test categorical"):
        drift.Detector("ks", "wasserstein")
    assert drift.Detector("psi", "psi").threshold("numeric") == 0.1
    assert drift.Detector("ks", "chisquare", 0.01).threshold("categorical") == 0.05


def test_a_reference_frame_needs_its_column_kinds() -> None:
    with pytest.raises(ValueError, match="columns"):
        drift.compare(frame(100, 0), frame(100, 1))
    with pytest.raises(ValueError, match="numeric or categorical"):
        drift.Reference(frame(100, 0), {"x": "text"})
    empty = frame(200, 1)
    empty["flag"] = None
    with pytest.raises(ValueError, match="no values"):
        drift.compare(frame(200, 0), empty, columns=COLUMNS)


def test_verdict_directions_follow_evidently() -> None:
    assert drift.drifted("ks", 0.05, 0.05) and not drift.drifted("chisquare", 0.05, 0.05)
    assert drift.drifted("psi", 0.1, 0.1) and drift.drifted("wasserstein", 0.2, 0.1)
    assert not drift.drifted("psi", 0.09, 0.1)
