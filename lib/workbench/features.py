"""Features: preprocessing built from a case's declared feature kinds, and their coverage in train vs test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from .cases import Case

__all__ = ["as_text_categories", "coverage", "preprocessor", "value_groups"]

MODEL_KINDS = ("linear", "tree", "target")


def as_text_categories(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings, with missing values as their own category '(missing)'."""
    return X.astype("string").fillna("(missing)").astype(object)


def preprocessor(case: Case, *, model: str = "linear", include_leaky: bool = False,
                 columns: list[str] | None = None, min_frequency: int = 20,
                 max_text_features: int = 20_000) -> ColumnTransformer:
    """A ColumnTransformer for the case's features (only `columns`, in the case's order and leaky
    ones included if named, when given).

    `linear`: numeric imputed (median) and standardised, categorical one-hot (rare levels pooled),
    text TF-IDF of words and bigrams. `tree`: numeric passed through (LightGBM handles missing
    values), categorical as ordinal codes (unknown and rare as -1), text TF-IDF. `target`: like
    `linear`, but each categorical becomes its level's smoothed positive rate (scikit-learn's
    TargetEncoder, cross-fitted when fitted; `min_frequency` does not apply).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler,
                                       TargetEncoder)

    if model not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {model!r}")
    if columns is not None:
        unknown = sorted(set(columns) - set(case.features))
        if unknown:
            raise ValueError(f"not features of case '{case.id}': {', '.join(unknown)}")
    keep = set(case.features) if columns is None else set(columns)
    numeric, categorical, text = (
        [c for c in case.feature_columns((kind,), include_leaky or columns is not None) if c in keep]
        for kind in ("numeric", "categorical", "text"))
    to_str = FunctionTransformer(as_text_categories, feature_names_out="one-to-one")
    steps = []
    if numeric:
        num = (make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
               if model != "tree" else "passthrough")
        steps.append(("numeric", num, numeric))
    if categorical:
        if model == "linear":
            enc = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency)
        elif model == "tree":
            enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                 min_frequency=min_frequency, dtype=float)
        else:
            enc = TargetEncoder(target_type="binary", cv=StratifiedKFold(5, shuffle=True, random_state=0))
        steps.append(("categorical", make_pipeline(to_str, enc), categorical))
    for col in text:
        steps.append((f"text_{col}", TfidfVectorizer(
            min_df=2, ngram_range=(1, 2), max_features=max_text_features, sublinear_tf=True,
            dtype=np.float64), col))
    return ColumnTransformer(steps, sparse_threshold=0.3)


def value_groups(train: pd.Series, test: pd.Series, kind: str, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Group labels of one feature's train and test values: the level (categorical), or the bin
    among (up to) n_bins quantile bins of the training values (numeric); missing is its own group."""
    if kind == "numeric":
        x_tr, x_te = train.astype(float).to_numpy(), test.astype(float).to_numpy()
        seen = x_tr[~np.isnan(x_tr)]
        inner = np.unique(np.quantile(seen, np.linspace(0, 1, n_bins + 1)))[1:-1] if len(seen) else np.array([])
        return tuple(np.where(np.isnan(x), -1, np.searchsorted(inner, x, side="right")).astype(str)
                     for x in (x_tr, x_te))
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

    from .stattests import psi

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
