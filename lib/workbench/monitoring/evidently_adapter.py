"""The one place the workbench talks to evidently (0.7 API), so that an upgrade touches one module.

Importing evidently takes seconds, so this module imports it only inside its functions. Things to
know about evidently 0.7 that the functions below take care of:

- `Report.run(current_data, reference_data)` takes the *current* data first;
- per-column verdicts are the report's tests (`include_tests=True`): a column's "Value Drift" test
  fails when it drifted; the dataset verdict is the "Share of Drifted Columns" test;
- with no method given, evidently picks one per column from the *reference* size: up to 1,000 rows
  KS (numeric) and chi-square or a z-test (categorical), above that Wasserstein (numeric) and
  Jensen-Shannon (categorical). Pass a `drift.Detector` to configure the methods explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.monitoring.drift import Detector

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EvidentlyDrift", "default_methods", "drift_report"]


@dataclass
class EvidentlyDrift:
    """Evidently's verdicts: per column (method, score, threshold, drifted) and for the dataset."""

    table: pd.DataFrame
    drifted_share: float
    dataset_drift: bool
    snapshot: Any

    def save_html(self, path: str | Path) -> Path:
        """Write evidently's interactive HTML report."""
        path = Path(path)
        self.snapshot.save_html(str(path))
        return path


def _dataset(frame: pd.DataFrame, columns: Mapping[str, str]):
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(
        numerical_columns=[c for c, k in columns.items() if k == "numeric"],
        categorical_columns=[c for c, k in columns.items() if k == "categorical"],
    )
    return Dataset.from_pandas(frame[list(columns)], data_definition=definition)


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, columns: Mapping[str, str],
                 detector: Detector | None = None, drift_share: float = 0.5) -> EvidentlyDrift:
    """Run evidently's DataDriftPreset on `columns` (column -> 'numeric' | 'categorical').

    With a `detector`, its methods and thresholds are configured explicitly for each kind; without
    one, evidently chooses them itself (see the module docstring).
    """
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    options: dict[str, Any] = {}
    if detector is not None:
        options = {"num_method": detector.num_method, "cat_method": detector.cat_method,
                   "num_threshold": detector.threshold("numeric"),
                   "cat_threshold": detector.threshold("categorical")}
    report = Report([DataDriftPreset(columns=list(columns), drift_share=drift_share, **options)],
                    include_tests=True)
    snapshot = report.run(current_data=_dataset(current, columns), reference_data=_dataset(reference, columns))
    result = snapshot.dict()
    by_id = {m["id"]: m for m in result["metrics"]}
    rows, share, dataset_drift = {}, None, None
    for test in result["tests"]:
        metric = by_id[test["metric_config"]["metric_id"]]
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            rows[config["column"]] = {"kind": columns[config["column"]], "method": config.get("method"),
                                      "score": float(metric["value"]), "threshold": config.get("threshold"),
                                      "drifted": test["status"] == "FAIL"}
        elif config["type"].endswith(":DriftedColumnsCount"):
            share = float(metric["value"]["share"])
            dataset_drift = test["status"] == "FAIL"
    if set(rows) != set(columns) or share is None:
        raise RuntimeError("evidently's report lacks a drift test for some column; has its API changed?")
    table = pd.DataFrame.from_dict(rows, orient="index").loc[list(columns)]
    table.index.name = "column"
    return EvidentlyDrift(table, share, bool(dataset_drift), snapshot)


def default_methods(reference: pd.DataFrame, current: pd.DataFrame, columns: Mapping[str, str]) -> dict[str, str]:
    """The method evidently would choose for each column when none is configured."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    kinds = {"numeric": ColumnType.Numerical, "categorical": ColumnType.Categorical}
    return {c: get_stattest(reference[c].dropna(), current[c].dropna(), kinds[k], None).name
            for c, k in columns.items()}
