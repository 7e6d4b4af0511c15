"""Recording results and decisions (workbench.record) and reading them back (workbench.runner.notebooks)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import records as rec
from workbench.runner.notebooks import find_error, read_records


def test_record_converts_numpy_and_returns_the_value() -> None:
    value = np.float64(0.25)
    assert rec.record("score_x", value) is value
    rec.record("counts", np.array([1, 2, 3]))
    got = rec.recorded()
    assert got["score_x"] == 0.25 and type(got["score_x"]) is float
    assert got["counts"] == [1, 2, 3]


@pytest.mark.parametrize("name", ["Bad", "1x", "has space", "decision", ""])
def test_record_refuses_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="lower_snake_case"):
        rec.record(name, 1)


def test_record_refuses_nan_and_unjsonable_values() -> None:
    with pytest.raises(ValueError, match="record None if it is undefined"):
        rec.record("auc", float("nan"))
    with pytest.raises(TypeError, match="cannot record a set"):
        rec.record("things", {1, 2})


def test_decide_needs_choice_evidence_and_what_would_change_it() -> None:
    d = rec.decide("ship the rule", "it is cheapest", ["costs change"])
    assert rec.recorded()["decision"] == {"choice": "ship the rule", "evidence": ["it is cheapest"],
                                         "would_change": ["costs change"]}
    assert "**Decision:** ship the rule" in d.markdown()
    with pytest.raises(ValueError):
        rec.decide("", [], [])


def test_records_are_read_back_from_executed_notebook_outputs() -> None:
    out = lambda name, value: {"output_type": "display_data",
                               "data": {rec.MIME: {"name": name, "value": value}, "text/plain": "x"}}
    nb = {"cells": [
        {"cell_type": "code", "source": "", "outputs": [out("a", 1), out("b", [1, 2])]},
        {"cell_type": "markdown", "source": "text"},
        {"cell_type": "code", "source": "raise X\n", "outputs": [
            out("a", 2), {"output_type": "error", "ename": "X", "evalue": "boom", "traceback": []}]},
    ]}
    assert read_records(nb) == {"a": 2, "b": [1, 2]}
    assert find_error(nb) == {"cell": 2, "source": "raise X", "ename": "X", "evalue": "boom"}


def test_output_dir_is_the_run_folder_when_set(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(rec.RUN_DIR_ENV, str(tmp_path / "run"))
    assert rec.output_dir() == tmp_path / "run" and (tmp_path / "run").is_dir()


def test_a_value_recorded_with_its_interval_records_the_bounds_beside_it() -> None:
    from workbench.modelling.intervals import Interval

    rec._recorded.clear()
    rec.record("cost", Interval(10.0, 8.0, 12.5, 0.9, "bootstrap"))
    rec.record("gap", 0.3, interval=(0.1, 0.5))
    rec.record("auc", 0.7, interval=(float("nan"), float("nan")))
    got = rec.recorded()
    assert (got["cost"], got["cost_lo"], got["cost_hi"]) == (10.0, 8.0, 12.5)
    assert (got["gap"], got["gap_lo"], got["gap_hi"]) == (0.3, 0.1, 0.5)
    assert got["auc_lo"] is None and got["auc_hi"] is None
    with pytest.raises(ValueError, match="lower bound 2.0 is above its upper bound 1.0"):
        rec.record("bad", 1.5, interval=(2.0, 1.0))
