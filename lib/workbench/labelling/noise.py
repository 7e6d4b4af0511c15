"""Label noise: inject it at a known rate, and find noisy labels with confident learning (cleanlab).

This is the one module that imports cleanlab, so an upgrade of its API touches only this file.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

__all__ = ["NOISE_KINDS", "cross_validated_probs", "detection", "find_issues", "inject"]

NOISE_KINDS = ("uniform", "class_conditional")


def inject(y: np.ndarray, rate: float, kind: str = "uniform", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flip 0/1 labels at random: (noisy labels, mask of flipped rows).

    `uniform`: every label flips with probability `rate`. `class_conditional`: only positive labels
    flip (to negative), with probability `rate`: annotators miss the event but never invent it.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {', '.join(NOISE_KINDS)}, got {kind!r}")
    if not 0 <= rate <= 1:
        raise ValueError(f"noise rate must be between 0 and 1, got {rate}")
    y = np.asarray(y).astype("int8")
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < rate
    if kind == "class_conditional":
        flip &= y == 1
    return np.where(flip, 1 - y, y).astype("int8"), flip


def cross_validated_probs(model: ClassifierMixin, X: Any, y: np.ndarray, *, folds: int = 5,
                          seed: int = 0) -> np.ndarray:
    """Out-of-sample P(class) as (n, 2): each row scored by a model that did not see its label."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, X, y, cv=cv, method="predict_proba")


def find_issues(labels: np.ndarray, probs: np.ndarray, *, method: str = "prune_by_noise_rate") -> np.ndarray:
    """Rows whose given label confident learning finds likely wrong (boolean mask).

    `probs` are out-of-sample predicted probabilities, (n, 2) or P(y = 1) as (n,). `method` is
    cleanlab's `filter_by`: prune_by_noise_rate (its default), prune_by_class, both,
    confident_learning (the off-diagonals of the confident joint), predicted_neq_given.
    """
    with warnings.catch_warnings():  # cleanlab imports tqdm.auto, which warns when ipywidgets is missing
        warnings.simplefilter("ignore")
        from cleanlab.filter import find_label_issues

    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.column_stack([1 - probs, probs])
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return np.zeros(len(labels), dtype=bool)
    return np.asarray(find_label_issues(labels, probs, filter_by=method), dtype=bool)


def detection(found: np.ndarray, flipped: np.ndarray) -> dict[str, Any]:
    """Precision and recall of the rows found against the rows truly flipped, with random guessing's precision.

    Flagging the same number of rows at random has expected precision = the noise rate and expected
    recall = the share of rows flagged. Precision is None when nothing was found, recall when nothing flipped.
    """
    found, flipped = np.asarray(found, dtype=bool), np.asarray(flipped, dtype=bool)
    tp = int((found & flipped).sum())
    return {
        "n_found": int(found.sum()),
        "n_flipped": int(flipped.sum()),
        "precision": tp / int(found.sum()) if found.any() else None,
        "recall": tp / int(flipped.sum()) if flipped.any() else None,
        "random_precision": float(flipped.mean()),
        "random_recall": float(found.mean()),
    }
