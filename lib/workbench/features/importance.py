"""Feature importance and selection: LightGBM gain, permutation importance on held-out rows, stability."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.modelling import boosting
from workbench.modelling.metrics import ranking_scores

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METHODS", "column_owners", "gain_importance", "permutation_importance", "stability", "top_k"]

METHODS = ("gain", "permutation")


def column_owners(transformer: Any) -> list[str]:
    """The input column behind each output column of a fitted ColumnTransformer.

    A transformer given one column name (e.g. TF-IDF of a text column) owns all of its outputs; a
    transformer given a list of columns must map them one to one (passthrough, ordinal encoding).
    """
    n_out = sum(s.stop - s.start for s in transformer.output_indices_.values())
    owners: list[str | None] = [None] * n_out
    for name, _, cols in transformer.transformers_:
        out = transformer.output_indices_[name]
        width = out.stop - out.start
        if width == 0:
            continue
        if isinstance(cols, str):
            owners[out] = [cols] * width
        elif width == len(cols):
            owners[out] = [str(c) for c in cols]
        else:
            raise ValueError(f"transformer '{name}' turns {len(cols)} columns into {width}; "
                             "importance per input column needs one output each (use model='tree')")
    return [str(o) for o in owners]


def gain_importance(pipeline: Any) -> pd.Series:
    """LightGBM's total split gain per input column of a fitted Pipeline(ColumnTransformer, LightGBM)."""
    import pandas as pd

    pre, model = pipeline[0], pipeline[-1]
    gain = pd.Series(boosting.gain_importance(model)).groupby(column_owners(pre), sort=False).sum()
    return gain.rename("gain").rename_axis("feature")


def _transformed(model: Any, X: pd.DataFrame) -> tuple[Any, np.ndarray, list[str]] | None:
    """(final estimator, X transformed once, owner of each column) when `model` is a
    Pipeline(ColumnTransformer, estimator) whose outputs each come from one input column, else None.

    Transforms work row by row, so shuffling an input column equals shuffling the outputs it owns:
    the shuffles can then skip re-running the preprocessing.
    """
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2 or not hasattr(steps[0][1], "output_indices_"):
        return None
    try:
        owners = column_owners(steps[0][1])
    except ValueError:
        return None
    Xt = steps[0][1].transform(X)
    if hasattr(Xt, "toarray"):
        return None  # sparse (text): shuffling raw columns is cheaper than densifying
    return steps[1][1], np.array(Xt, dtype=float), owners


def permutation_importance(model: Any, X: pd.DataFrame, y: np.ndarray, *, n_repeats: int = 5,
                           seed: int = 0, score: Callable[[np.ndarray, np.ndarray], float] | None = None,
                           columns: list[str] | None = None) -> pd.DataFrame:
    """How much the held-out score drops when one column's values are shuffled.

    Per column: `importance` (mean drop over `n_repeats` shuffles) and `sd`; the score is ROC-AUC
    unless `score(y, scores)` is given. The model sees all other columns intact, so a column whose
    information another column duplicates scores low.
    """
    import pandas as pd

    cols = list(X.columns) if columns is None else list(columns)
    y = np.asarray(y)
    score = score or (lambda yy, ss: ranking_scores(yy, ss)[0])  # ROC-AUC
    base = score(y, model.predict_proba(X)[:, 1])
    rng = np.random.default_rng(seed)
    fast = _transformed(model, X)
    rows = []
    for col in cols:
        drops = []
        for _ in range(n_repeats):
            order = rng.permutation(len(X))
            if fast is None:
                shuffled = X.copy()
                shuffled[col] = X[col].iloc[order].set_axis(X.index)  # keeps the dtype
                drops.append(base - score(y, model.predict_proba(shuffled)[:, 1]))
            else:
                estimator, Xt, owners = fast
                owned = [i for i, o in enumerate(owners) if o == col]
                shuffled = Xt.copy()
                shuffled[:, owned] = Xt[order][:, owned]
                drops.append(base - score(y, estimator.predict_proba(shuffled)[:, 1]))
        rows.append({"feature": col, "importance": float(np.mean(drops)), "sd": float(np.std(drops))})
    return pd.DataFrame(rows).set_index("feature")


def top_k(importance: pd.Series, k: int) -> list[str]:
    """The k most important features, ties broken by their order in `importance`."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    order = np.argsort(-importance.to_numpy(dtype=float), kind="stable")
    return [str(importance.index[i]) for i in order[:k]]


def stability(shares: pd.DataFrame, *, max_cv: float = 0.5) -> pd.DataFrame:
    """Summarise importance shares per window (rows: features, columns: windows).

    Per feature: mean share, coefficient of variation (sd / mean) across windows, best and worst
    rank, and `fragile` when the coefficient of variation exceeds `max_cv`.
    """
    import pandas as pd

    mean = shares.mean(axis=1)
    sd = shares.std(axis=1, ddof=0)
    ranks = shares.rank(axis=0, ascending=False, method="min")
    cv = (sd / mean.where(mean > 0)).fillna(0.0)
    return pd.DataFrame({
        "mean_share": mean,
        "cv": cv,
        "best_rank": ranks.min(axis=1).astype(int),
        "worst_rank": ranks.max(axis=1).astype(int),
        "fragile": cv > max_cv,
    }).sort_values("mean_share", ascending=False, kind="stable")
