"""The one place the workbench talks to LightGBM, so that an upgrade of its API touches one module."""

from __future__ import annotations

from typing import Any

__all__ = ["classifier", "model_size_bytes"]


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


def model_size_bytes(model: Any) -> int:
    """Size of a fitted LightGBM model as saved text."""
    return len(model.booster_.model_to_string().encode())
