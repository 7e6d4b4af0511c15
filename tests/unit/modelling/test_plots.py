"""Figure helpers (workbench.modelling.plots): each draws what it is given, one mark per row."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from workbench.evaluation.calibration import reliability_bins
from workbench.modelling import plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_reliability_draws_the_diagonal_and_one_line_per_curve() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    curves = {"raw": reliability_bins(y, p), "squared": reliability_bins(y, p ** 2)}
    ax = plots.reliability(curves, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["calibrated", "raw", "squared"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), curves["raw"]["observed_rate"])


def test_intervals_draw_one_point_per_row_and_the_reference() -> None:
    frame = pd.DataFrame({"g": ["a", "b", "c"], "v": [1.0, 2.0, 3.0], "lo": [0.5, 1.5, 2.0], "hi": [1.5, 2.5, 4.0]})
    ax = plots.intervals(frame, "g", "v", "lo", "hi", reference=2.0, highlight="c")
    points = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(np.asarray(points)[:, 0], frame["v"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert any(np.allclose(line.get_xdata(), 2.0) for line in ax.get_lines()), "reference line"
