"""Coverage: how well training rows cover each feature's later values (unseen levels, out-of-range values, PSI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["coverage", "value_groups"]


def value_groups(train: pd.Series, test: pd.Series, kind: str, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Group labels of one feature's train and test values: the level (categorical), or the bin
    among (up to) n_bins quantile bins of the training values (numeric; a numeric feature with at most
    n_bins distinct values, such as a 0/1 flag, is grouped by value); missing is its own group."""
    if kind == "numeric":
        x_tr, x_te = train.astype(float).to_numpy(), test.astype(float).to_numpy()
        seen = x_tr[~np.isnan(x_tr)]
        if len(np.unique(seen)) <= n_bins:  # few distinct values (e.g. a 0/1 flag): each value is its own group
            g_tr, g_te = (np.where(np.isnan(x), "missing", x.astype(str)) for x in (x_tr, x_te))
            return g_tr.astype(object), g_te.astype(object)
        inner = np.unique(np.quantile(seen, np.linspace(0, 1, n_bins + 1)))[1:-1] if len(seen) else np.array([])
        g_tr, g_te = (np.where(np.isnan(x), -1, np.searchsorted(inner, x, side="right")).astype(str)
                      for x in (x_tr, x_te))
        return g_tr, g_te
    return tuple(s.astype("string").fillna("\0missing").to_numpy(dtype=object) for s in (train, test))


def coverage(train: pd.DataFrame, test: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """How well training data covers each feature's test values.

    Per feature: missing rate in train and test; `unseen`, the share of test rows whose level never
    occurs in training (categorical) or whose value lies outside the training range (numeric),
    where a model can only extrapolate; and `psi`, the population stability index of the test values
    against the training values as the drift checks compute it (`stattests.psi`; missing values
    left out; NaN when either side has none).
    """
    import pandas as pd

    from workbench.monitoring.stattests import psi

    rows = []
    for col, kind in kinds.items():
        tr, te = train[col], test[col]
        if kind == "numeric":
            x = te.astype(float)
            lo, hi = tr.astype(float).min(), tr.astype(float).max()
            unseen = ((x < lo) | (x > hi)).to_numpy() if tr.notna().any() else x.notna().to_numpy()
        elif kind == "categorical":
            unseen = (te.notna() & ~te.astype("string").isin(set(tr.dropna().astype("string")))).to_numpy()
        else:
            continue  # text: coverage of a vocabulary is another question
        a, b = (v.dropna().to_numpy() if kind == "numeric" else v.dropna().astype(str).to_numpy(dtype=object)
                for v in (tr, te))
        rows.append({"feature": col, "kind": kind, "train_missing": float(tr.isna().mean()),
                     "test_missing": float(te.isna().mean()), "unseen": float(np.mean(unseen)) if len(te) else 0.0,
                     "psi": psi(a, b, kind) if len(a) and len(b) else float("nan")})
    return pd.DataFrame(rows, columns=["feature", "kind", "train_missing", "test_missing", "unseen", "psi"])
