"""Leakage checks: one-feature power, statistics fitted on all data, duplicates and shared entities across splits.

Each check compares two ways of measuring the same thing (a feature alone against the others, a
Pipeline against statistics fitted on all rows, a row split against a split that keeps duplicates
or entities on one side); a large difference is a warning that an offline score will not survive
production.
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

__all__ = ["duplicate_share", "duplicates", "flag_leaks", "one_feature_auc", "one_feature_scores",
           "preprocessing_gap", "repeated_entities"]

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


def preprocessing_gap(pre: Any, model: Any, X_train: pd.DataFrame, y_train: np.ndarray,
                      X_test: pd.DataFrame, y_test: np.ndarray, *, score: Scorer = roc_auc,
                      shuffle_test_labels: int | None = None, return_scores: bool = False) -> dict[str, Any]:
    """Test score with preprocessing statistics fitted on training rows only vs on all rows.

    `train_only` fits `pre` and `model` together in a Pipeline on the training rows (the right way).
    `all_data` fits `pre` on training and test rows with their labels (the shortcut), then the model
    on the training rows. Both arms encode the training rows with `pre.fit_transform`, which for a
    target encoder is cross-fitted (out of fold), so the training rows are encoded the same way in
    both arms and `gap` = all_data - train_only measures what the test labels leak, not in-sample
    encoding. With `shuffle_test_labels` (a seed), the shortcut sees the test labels shuffled among
    the test rows: a placebo with the same rows and no information about each row's own label.
    With `return_scores`, the test scores of both arms are returned too (`scores_train_only`,
    `scores_all_data`), e.g. for a paired interval of the gap.
    """
    import pandas as pd
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    right = make_pipeline(clone(pre), clone(model)).fit(X_train, y_train)
    p_right = right.predict_proba(X_test)[:, 1]
    s_right = score(y_test, p_right)
    y_seen = np.asarray(y_test)
    if shuffle_test_labels is not None:
        y_seen = np.random.default_rng(shuffle_test_labels).permutation(y_seen)
    pre_all = clone(pre)
    both = pre_all.fit_transform(pd.concat([X_train, X_test]), np.r_[y_train, y_seen])
    wrong = clone(model).fit(both[: len(X_train)], y_train)  # training rows out of fold; test labels in the folds
    p_wrong = wrong.predict_proba(pre_all.transform(X_test))[:, 1]  # statistics fitted on all rows
    s_wrong = score(y_test, p_wrong)
    out: dict[str, Any] = {"train_only": float(s_right), "all_data": float(s_wrong), "gap": float(s_wrong - s_right)}
    if return_scores:
        out.update(scores_train_only=p_right, scores_all_data=p_wrong)
    return out


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


def duplicates(train: pd.DataFrame, test: pd.DataFrame | None, columns: list[str], *, text: str | None = None,
               threshold: float = 0.9, chunk: int = 2000) -> pd.DataFrame:
    """For each test row, the training row it duplicates, if any (without `test`: each training row
    against the other training rows).

    `exact`: every one of `columns` equal. With a `text` column, `similarity` is the cosine of the
    TF-IDF vectors (words, fitted on the training texts; English stop words and words in more than
    half the texts left out, which keeps the comparison sparse and fast) of the row's text and its
    nearest training text, and `near` is similarity >= threshold or an exact duplicate. `match` is
    the position in `train` of the exact duplicate (else the nearest text; -1 when there is
    neither). Index: the test rows' index.
    """
    import pandas as pd

    within = test is None
    other = train if test is None else test

    def keys(df: pd.DataFrame) -> np.ndarray:
        return pd.util.hash_pandas_object(df[columns], index=False).to_numpy()

    k_train, k_other = keys(train), keys(other)
    first: dict[int, list[int]] = {}
    for pos, k in enumerate(k_train):
        first.setdefault(int(k), []).append(pos)
    match = np.full(len(other), -1)
    for i, k in enumerate(k_other):
        candidates = [p for p in first.get(int(k), []) if not (within and p == i)]
        if candidates:
            match[i] = candidates[0]
    exact = match >= 0
    similarity = np.full(len(other), np.nan)
    if text is not None and len(train) > int(within) and len(other):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", max_df=0.5, dtype=np.float32)
        a = vec.fit_transform(train[text].fillna("").astype(str))
        b = a if within else vec.transform(other[text].fillna("").astype(str))
        nearest = np.full(len(other), -1)
        for start in range(0, len(other), chunk):
            sims = (b[start:start + chunk] @ a.T).toarray()
            if within:
                sims[np.arange(sims.shape[0]), np.arange(start, start + sims.shape[0])] = -1.0
            nearest[start:start + chunk] = sims.argmax(axis=1)
            similarity[start:start + chunk] = sims.max(axis=1)
        match = np.where(exact, match, nearest)
    near = np.nan_to_num(similarity, nan=-1.0) >= threshold
    return pd.DataFrame({"exact": exact, "near": near | exact, "similarity": similarity, "match": match},
                        index=other.index)


def repeated_entities(frame: pd.DataFrame, columns: list[str], *, min_rows: float = 2.0,
                      min_entities: int = 20) -> dict[str, float]:
    """Identifier columns that name entities with several rows each: column -> mean rows per entity.

    A column qualifies with at least `min_entities` distinct values and `min_rows` rows per value on
    average: an entity that appears on both sides of a split can then be memorised, not learned.
    """
    out = {}
    for col in columns:
        n = int(frame[col].nunique(dropna=True))
        if n >= min_entities and frame[col].notna().sum() / n >= min_rows:
            out[col] = float(frame[col].notna().sum() / n)
    return out
