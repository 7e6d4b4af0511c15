"""Preprocessing built from a case's declared feature kinds, and the smoothed positive rate of a group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from workbench.cases import Case

__all__ = ["MODEL_KINDS", "as_text_categories", "preprocessor", "smoothed_rates"]

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
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

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
    steps: list[tuple[str, Any, Any]] = []
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


def smoothed_rates(groups_train: np.ndarray, y_train: np.ndarray, groups_other: np.ndarray, *,
                   smoothing: float = 10.0) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Each row's group's positive rate in training, shrunk toward the overall rate by `smoothing`
    pseudo-rows: (sum + smoothing * prior) / (count + smoothing). Groups unseen in training get the
    prior. Returns the rates of the training rows, of the other rows, and the rate per group.
    """
    import pandas as pd

    y_train = np.asarray(y_train, dtype=float)
    prior = float(y_train.mean())
    stats = pd.DataFrame({"g": np.asarray(groups_train, dtype=object), "y": y_train}).groupby("g")["y"].agg(["sum", "count"])
    rate = (stats["sum"] + smoothing * prior) / (stats["count"] + smoothing)
    return (pd.Series(groups_train, dtype=object).map(rate).to_numpy(dtype=float),
            pd.Series(groups_other, dtype=object).map(rate).fillna(prior).to_numpy(dtype=float), rate)
