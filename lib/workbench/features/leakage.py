"""Leakage checks: one-feature power, split gaps, statistics fitted on all data, duplicates across splits.

Each check compares two ways of measuring the same thing (a feature alone against the others, a
random split against a time split, a Pipeline against statistics fitted on all rows); a large
difference is a warning that an offline score will not survive production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.features.coverage import value_groups
from workbench.modelling.metrics import roc_auc
from workbench.modelling.preprocessing import smoothed_rates

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["compare_splits", "duplicate_share", "flag_leaks", "one_feature_auc", "one_feature_scores",
           "preprocessing_gap"]

Scorer = Callable[[np.ndarray, np.ndarray], float]


def one_feature_scores(train: pd.Series, test: pd.Series, y_train: np.ndarray, kind: str, *,
                       bins: int = 20, smoothing: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """A one-feature model's scores on train and test: the smoothed positive rate of the value's group.

    Numeric values are grouped into (up to `bins`) quantile bins of the training values, categorical
    values by level; missing values form their own group, and groups unseen in training score the
    training positive rate. Non-monotone effects are therefore captured, unlike a raw-value AUC.
    """
    g_train, g_test = value_groups(train, test, kind, bins)
    s_train, s_test, _ = smoothed_rates(g_train, y_train, g_test, smoothing=smoothing)
    return s_train, s_test


def one_feature_auc(train: pd.DataFrame, test: pd.DataFrame, y_train: np.ndarray, y_test: np.ndarray,
                    kinds: dict[str, str], *, bins: int = 20, smoothing: float = 10.0) -> pd.DataFrame:
    """Held-out ROC-AUC of each feature alone (a one-feature model fitted on train), strongest first."""
    import pandas as pd

    rows = []
    for col, kind in kinds.items():
        if kind not in ("numeric", "categorical"):
            continue  # text needs a vocabulary, not a one-column rate table
        _, s_test = one_feature_scores(train[col], test[col], y_train, kind, bins=bins, smoothing=smoothing)
        rows.append({"feature": col, "kind": kind, "auc": roc_auc(y_test, s_test)})
    table = pd.DataFrame(rows, columns=["feature", "kind", "auc"])
    return table.sort_values("auc", ascending=False, kind="stable").reset_index(drop=True)


def flag_leaks(scores: pd.DataFrame, *, max_auc: float = 0.9, max_lead: float = 0.15) -> pd.DataFrame:
    """Mark features whose one-feature AUC is suspiciously high: `flagged`, `near_perfect` and `why` added.

    A feature is `near_perfect` (and flagged) when alone it reaches `max_auc`: it predicts the
    target almost perfectly, which real features rarely do. The strongest feature is also flagged
    when it beats the second by more than `max_lead`: a label proxy stands apart like that, but so
    can an honest dominant feature, so a lead alone makes a suspect to check, not a verdict. Two
    leaks that copy each other escape the lead rule, so declared leaks still matter. `scores` is
    `one_feature_auc`'s table.
    """
    out = scores.sort_values("auc", ascending=False, kind="stable").reset_index(drop=True)
    auc = out["auc"].to_numpy(dtype=float)
    whys = []
    for i, a in enumerate(auc):
        why = []
        if a >= max_auc:
            why.append(f"AUC alone {a:.3f} >= {max_auc:g}")
        if i == 0 and len(auc) > 1 and a - auc[1] > max_lead:
            why.append(f"AUC alone {a:.3f} leads the next feature ({auc[1]:.3f}) by more than {max_lead:g}")
        whys.append("; ".join(why))
    out["flagged"] = [bool(w) for w in whys]
    out["near_perfect"] = auc >= max_auc
    out["why"] = whys
    return out


def compare_splits(case: Case, measure: Callable[[pd.DataFrame, pd.DataFrame], Any], *,
                   data: pd.DataFrame | None = None, test_size: float = 0.25, seed: int = 0,
                   max_train_rows: int | None = None) -> dict[str, Any]:
    """`measure(train, test)` on a time split (when the case has time) and on a random split.

    Both splits hold out the same number of rows and train on at most `max_train_rows` rows, so the
    only difference is which rows are held out. A random split that scores clearly higher than a
    time split means the model leans on what rows of one period share (a leak, or drift).
    """
    from workbench.modelling import splits

    df = case.frame() if data is None else data
    out = {}
    for kind in ("time", "random") if case.time_column else ("random",):
        train, test = splits.split(case, kind=kind, test_size=test_size, seed=seed, data=df)
        train = splits.subsample(train, max_train_rows, seed)
        out[kind] = measure(df.iloc[train], df.iloc[test])
    return out


def preprocessing_gap(pre: Any, model: Any, X_train: pd.DataFrame, y_train: np.ndarray,
                      X_test: pd.DataFrame, y_test: np.ndarray, *, score: Scorer = roc_auc) -> dict[str, float]:
    """Test score with preprocessing statistics fitted on training rows only vs on all rows.

    `train_only` fits `pre` and `model` together in a Pipeline on the training rows (the right way);
    `all_data` fits `pre` on training and test rows (with their labels, as a target encoder would
    use them), then the model on the training rows. `gap` is all_data - train_only: how much the
    shortcut flatters the offline score.
    """
    import pandas as pd
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    right = make_pipeline(clone(pre), clone(model)).fit(X_train, y_train)
    s_right = score(y_test, right.predict_proba(X_test)[:, 1])
    pre_all = clone(pre).fit(pd.concat([X_train, X_test]), np.r_[y_train, y_test])
    wrong = clone(model).fit(pre_all.transform(X_train), y_train)
    s_wrong = score(y_test, wrong.predict_proba(pre_all.transform(X_test))[:, 1])
    return {"train_only": float(s_right), "all_data": float(s_wrong), "gap": float(s_wrong - s_right)}


def duplicate_share(train: pd.DataFrame, test: pd.DataFrame, columns: list[str]) -> float:
    """Share of test rows whose values on `columns` equal those of some training row.

    Train and test must give each column the same dtype (rows of one frame do).
    """
    import pandas as pd

    if len(test) == 0:
        return 0.0

    def keys(df: pd.DataFrame) -> np.ndarray:  # a hash of each row's values (by value, not dtype code)
        return pd.util.hash_pandas_object(df[columns], index=False).to_numpy()

    return float(np.isin(keys(test), keys(train)).mean())
