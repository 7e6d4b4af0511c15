"""The size frontier: LightGBM models over a grid of trees x leaves, and a small model distilled
from a large one's probabilities.

Each leaves setting is fitted once with the most trees; the smaller tree counts are its first trees
(`boosting.truncate`), which is what early stopping at that count would have given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.modelling import boosting

__all__ = ["distil", "fit_grid", "grid_predict", "size_bytes"]


def fit_grid(X: np.ndarray, y: np.ndarray, categorical: Sequence[int], *, trees: Sequence[int],
             leaves: Sequence[int], learning_rate: float = 0.1, seed: int = 0) -> dict[tuple[int, int], Any]:
    """A booster for every (trees, leaves) pair, keyed by that pair."""
    models: dict[tuple[int, int], Any] = {}
    most = max(trees)
    for n_leaves in sorted(set(leaves)):
        full = boosting.train(X, y, categorical=list(categorical), seed=seed, n_estimators=most,
                              learning_rate=learning_rate, num_leaves=n_leaves)
        for n_trees in sorted(set(trees)):
            models[(n_trees, n_leaves)] = full if n_trees == most else boosting.truncate(full, n_trees)
    return models


def grid_predict(grid: dict[tuple[int, int], Any], X: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Every grid model's probabilities on X, each tree evaluated once (the small models are the
    first trees of the largest one with the same leaves)."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for n_leaves in sorted({leaves for _, leaves in grid}):
        counts = sorted(t for t, leaves in grid if leaves == n_leaves)
        staged = boosting.staged_predict(grid[(counts[-1], n_leaves)], X, counts)
        out.update({(t, n_leaves): staged[t] for t in counts})
    return out


def distil(teacher_p: np.ndarray, X: np.ndarray, categorical: Sequence[int], *, trees: int, leaves: int,
           learning_rate: float = 0.1, seed: int = 0, **params: Any) -> Any:
    """A booster trained to reproduce the teacher's probabilities (soft labels) on rows X.

    A soft label p is the same loss as two rows, labelled 1 with weight p and 0 with weight 1 - p,
    so an ordinary binary objective learns it and every runtime can serve the result. Each row is
    there twice, so the minimum rows in a leaf (`min_child_samples`, 20 by default) is doubled.
    """
    p = np.clip(np.asarray(teacher_p, dtype=float), 0.0, 1.0)
    params["min_child_samples"] = 2 * int(params.get("min_child_samples", 20))
    X2 = np.vstack([X, X])
    y2 = np.r_[np.ones(len(X)), np.zeros(len(X))]
    return boosting.train(X2, y2, categorical=list(categorical), seed=seed, n_estimators=trees,
                          learning_rate=learning_rate, num_leaves=leaves, weight=np.r_[p, 1.0 - p], **params)


def size_bytes(model: Any) -> int:
    """A model's size as LightGBM model text, in bytes."""
    return len(boosting.to_text(model).encode())
