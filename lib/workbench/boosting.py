"""The one place the workbench talks to LightGBM, so that an upgrade of its API touches one module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from .cases import Case

__all__ = ["classifier", "gain_importance", "model_size_bytes", "pipeline"]


def classifier(*, seed: int = 0, n_estimators: int = 200, learning_rate: float = 0.05,
               num_leaves: int = 31, min_child_samples: int = 20, **params: Any):
    """A deterministic LightGBM binary classifier with sensible sizes for laptop-speed notebooks."""
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        num_leaves=num_leaves,
        min_child_samples=min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
        **params,
    )


def pipeline(case: Case, *, columns: list[str] | None = None, include_leaky: bool = False, seed: int = 0,
             n_estimators: int = 200, **params: Any) -> Pipeline:
    """The case's tree preprocessor and a LightGBM classifier as one Pipeline (encodings fit on training rows).

    `columns` restricts the model to those feature columns (leaky ones included if named).
    """
    from sklearn.pipeline import make_pipeline

    from .features import preprocessor

    return make_pipeline(preprocessor(case, model="tree", include_leaky=include_leaky, columns=columns),
                         classifier(seed=seed, n_estimators=n_estimators, **params))


def model_size_bytes(model: Any) -> int:
    """Size of a fitted LightGBM model as saved text."""
    return len(model.booster_.model_to_string().encode())


def gain_importance(model: Any) -> np.ndarray:
    """Total gain of the splits on each input column of a fitted LightGBM model, in column order."""
    return np.asarray(model.booster_.feature_importance(importance_type="gain"), dtype=float)
