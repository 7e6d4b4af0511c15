"""The logistic floor: a logistic regression on the same encoded rows the tree runtimes take, scored
with a few numpy lookups (each categorical code's weight from a table), as a service would run it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LinearScorer", "fit_linear"]


@dataclass(frozen=True)
class LinearScorer:
    """A fitted logistic regression over numeric columns (standardised, missing as the median) and
    categorical codes (one weight per code; unknown or missing codes weigh 0)."""

    intercept: float
    numeric: tuple[int, ...]
    fill: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # one per numeric column
    categorical: tuple[int, ...]
    tables: tuple[np.ndarray, ...]  # per categorical column: weight of code k at k, 0 at the end

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(positive) for rows of features."""
        X = np.asarray(X, dtype=np.float64)
        z = np.full(len(X), self.intercept)
        if self.numeric:
            num = X[:, self.numeric]
            num = np.where(np.isnan(num), self.fill, num)
            z += ((num - self.centre) / self.scale) @ self.weights
        for col, table in zip(self.categorical, self.tables):
            z += table[_codes(X[:, col], len(table) - 1)]
        return 1.0 / (1.0 + np.exp(-z))


def _codes(column: np.ndarray, n_levels: int) -> np.ndarray:
    """Codes as table positions: unknown, negative or missing codes point at the last entry (weight 0)."""
    codes = np.where(np.isfinite(column), column, -1).astype(np.int64)
    return np.where((codes >= 0) & (codes < n_levels), codes, n_levels)


def fit_linear(X: np.ndarray, y: np.ndarray, categorical: tuple[int, ...] | list[int] = (), *,
               C: float = 1.0) -> LinearScorer:
    """Fit the logistic regression (L2, strength 1/C) on rows whose categorical columns hold codes."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=np.float64)
    cat = tuple(int(c) for c in categorical)
    numeric = tuple(i for i in range(X.shape[1]) if i not in cat)
    blocks = []
    if numeric:
        num = X[:, numeric]
        fill = np.nan_to_num(np.nanmedian(num, axis=0)) if len(num) else np.zeros(len(numeric))
        num = np.where(np.isnan(num), fill, num)
        centre, scale = num.mean(axis=0), num.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        blocks.append(sparse.csr_matrix((num - centre) / scale))
    else:
        fill = centre = scale = np.zeros(0)
    sizes = []
    for col in cat:
        finite = X[:, col][np.isfinite(X[:, col])]
        n_levels = int(finite.max()) + 1 if finite.size and finite.max() >= 0 else 0
        codes = _codes(X[:, col], n_levels)
        rows = np.flatnonzero(codes < n_levels)
        blocks.append(sparse.csr_matrix((np.ones(len(rows)), (rows, codes[rows])), shape=(len(X), max(n_levels, 1))))
        sizes.append(n_levels)
    design = sparse.hstack(blocks).tocsr()
    model = LogisticRegression(C=C, max_iter=2000).fit(design, y)
    coef = model.coef_.ravel()
    at = len(numeric)
    tables = []
    for n_levels in sizes:
        tables.append(np.r_[coef[at:at + n_levels], 0.0])
        at += max(n_levels, 1)
    return LinearScorer(float(model.intercept_[0]), numeric, fill, centre, scale, coef[:len(numeric)], cat, tuple(tables))
