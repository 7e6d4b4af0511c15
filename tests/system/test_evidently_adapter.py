"""The evidently wrapper (workbench.monitoring.evidently_adapter): configuration, verdict extraction, report, defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.monitoring import drift, evidently_adapter

COLUMNS = {"x": "numeric", "n": "numeric", "c": "categorical"}


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, rows), "n": rng.integers(0, 50, rows),
                         "c": rng.choice(["a", "b", "c"], rows, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4])})


def test_a_configured_report_uses_the_detectors_methods_and_thresholds(tmp_path: Path) -> None:
    detector = drift.Detector("wasserstein", "psi", 0.07, 0.03)
    result = evidently_adapter.drift_report(frame(1500, 0), frame(600, 1, 0.8), COLUMNS, detector, drift_share=0.3)
    table = result.table
    assert list(table.index) == list(COLUMNS)
    assert table["method"].tolist() == ["wasserstein", "wasserstein", "psi"]
    assert table["threshold"].tolist() == [0.07, 0.07, 0.03]
    assert table.loc["x", "drifted"] and table.loc["c", "drifted"], "a shift of 0.8 sd moves x and c"
    assert result.drifted_share == table["drifted"].mean()
    assert result.dataset_drift == (result.drifted_share >= 0.3)
    html = result.save_html(tmp_path / "report.html")
    text = html.read_text(errors="ignore")
    assert all(f"Value Drift for column {c}" in text for c in COLUMNS) and "Share of Drifted" in text


def test_evidently_picks_its_default_methods_by_reference_size() -> None:
    small, large, current = frame(800, 2), frame(3000, 3), frame(500, 4)
    assert evidently_adapter.default_methods(small, current, COLUMNS) == {"x": "ks", "n": "ks", "c": "chisquare"}
    assert evidently_adapter.default_methods(large, current, COLUMNS) == {
        "x": "wasserstein", "n": "wasserstein", "c": "jensenshannon"}
    unconfigured = evidently_adapter.drift_report(large, current, COLUMNS)
    assert unconfigured.table["method"].str.contains("Wasserstein|Jensen", regex=True).all()
