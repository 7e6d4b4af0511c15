"""Choosing on validation rows without grading a choice on the rows it was fitted on: cross-fitting.

A threshold or a calibrator fitted on all validation rows and then scored on the same rows looks
better than it is (isotonic calibration always wins in-sample). Cross-fitting cuts the validation
rows into folds, fits on the other folds and applies to each fold, so every row gets a decision or
a probability from a fit that did not see it. Options (remedies, calibration methods) are then
compared row by row on those out-of-fold values (`intervals.simplest_indistinct` picks the
simplest one the comparison cannot tell apart from the best).
"""

from __future__ import annotations

import numpy as np

from workbench.evaluation.calibration import fit_calibrator
from workbench.modelling.metrics import best_threshold

__all__ = ["crossfit_decisions", "crossfit_probabilities", "fold_ids"]


def fold_ids(y: np.ndarray, folds: int = 2, seed: int = 0) -> np.ndarray:
    """Each row's fold (0 .. folds-1), stratified by label and shuffled with seed."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
    out = np.empty(len(y), dtype=int)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, rows) in enumerate(cv.split(np.zeros(len(y)), y)):
        out[rows] = k
    return out


def crossfit_decisions(y: np.ndarray, score: np.ndarray, cost_fp: float, cost_fn: float, *, folds: int = 2,
                       seed: int = 0) -> np.ndarray:
    """0/1 decisions where each fold is flagged at the cost-optimal threshold of the other folds."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    fold = fold_ids(y, folds, seed)
    out = np.zeros(len(y), dtype="int8")
    for k in range(folds):
        inside = fold == k
        t, _ = best_threshold(y[~inside], score[~inside], cost_fp, cost_fn)
        out[inside] = score[inside] >= t
    return out


def crossfit_probabilities(y: np.ndarray, score: np.ndarray, method: str, *, folds: int = 2,
                           seed: int = 0) -> np.ndarray:
    """Calibrated probabilities where each fold's calibrator (`fit_calibrator`) was fitted on the other folds."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    fold = fold_ids(y, folds, seed)
    out = np.zeros(len(y))
    for k in range(folds):
        inside = fold == k
        out[inside] = fit_calibrator(score[~inside], y[~inside], method)(score[inside])
    return out

