"""LightGBM's own predict as a runtime (the reference every other runtime is compared with)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from workbench.modelling import boosting
from workbench.serving.runtime_base import Runtime

__all__ = ["build"]


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    return boosting.predict(model, X, threads=1)


def build(model: Any) -> Runtime:
    """LightGBM's predict on one thread; nothing to prepare."""
    return Runtime("lightgbm", partial(_predict, getattr(model, "booster_", model)), 0.0, "LightGBM predict")
