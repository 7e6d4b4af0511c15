"""Perturbation robustness (workbench.evaluation.robustness): cost and decisions against clean inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.evaluation import robustness


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000), "t": ["some words"] * 2000,
                          "n": 10})
    y = (frame["x"] + rng.normal(0, 0.5, 2000) > 0).astype(int).to_numpy()
    return frame, y


def score(r: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp(-3 * r["x"].fillna(0).to_numpy()))


def test_no_perturbation_changes_nothing_and_noise_degrades_as_brute_force_says(rows) -> None:
    frame, y = rows
    curve = robustness.degradation(score, frame, y, 0.5, lambda r, lv, rng: robustness.with_noise(r, lv, rng, {"x": 1.0}),
                                   [0.0, 1.0], 1.0, 1.0, n_boot=300)
    clean = curve.iloc[0]
    assert clean["cost_change"] == 0 and clean["unchanged"] == 1.0 and clean["cost_change_lo"] == clean["cost_change_hi"] == 0
    noisy = curve.iloc[1]
    redo = frame.assign(x=frame["x"] + np.random.default_rng(0 + 7919 * 2).normal(0, 1.0, len(frame)))
    kept = np.mean((score(redo) >= 0.5) == (score(frame) >= 0.5))
    assert noisy["unchanged"] == pytest.approx(kept) and noisy["unchanged_lo"] < kept < noisy["unchanged_hi"]
    assert noisy["cost_change_lo"] > 0, "measurement error as large as the signal costs errors"


def test_missing_values_are_lost_at_the_rate_and_text_lengths_follow(rows) -> None:
    frame, _ = rows
    out = robustness.with_missing(frame, 0.3, np.random.default_rng(1), {"x": "numeric", "c": "categorical", "t": "text"},
                                  {"n": "t"})
    assert out["x"].isna().mean() == pytest.approx(0.3, abs=0.04) and out["c"].isna().mean() == pytest.approx(0.3, abs=0.04)
    lost = out["t"] == ""
    assert lost.mean() == pytest.approx(0.3, abs=0.04)
    assert (out.loc[lost, "n"] == 0).all() and (out.loc[~lost, "n"] == len("some words")).all()
