"""Feature preprocessing built from a case's declared feature kinds (fitted on training data only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    from .cases import Case

__all__ = ["as_text_categories", "preprocessor"]

MODEL_KINDS = ("linear", "tree")


def as_text_categories(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings, with missing values as their own category '(missing)'."""
    return X.astype("string").fillna("(missing)").astype(object)


def preprocessor(case: Case, *, model: str = "linear", include_leaky: bool = False,
                 min_frequency: int = 20, max_text_features: int = 20_000) -> ColumnTransformer:
    """A ColumnTransformer for the case's features.

    `linear`: numeric imputed (median) and standardised, categorical one-hot (rare levels pooled),
    text TF-IDF of words and bigrams. `tree`: numeric passed through (LightGBM handles missing
    values), categorical as ordinal codes (unknown and rare as -1), text TF-IDF.
    """
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    if model not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {model!r}")
    numeric = case.feature_columns(("numeric",), include_leaky)
    categorical = case.feature_columns(("categorical",), include_leaky)
    text = case.feature_columns(("text",), include_leaky)
    to_str = FunctionTransformer(as_text_categories, feature_names_out="one-to-one")
    steps = []
    if numeric:
        num = (make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
               if model == "linear" else "passthrough")
        steps.append(("numeric", num, numeric))
    if categorical:
        enc = (OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency)
               if model == "linear" else
               OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                              min_frequency=min_frequency, dtype=float))
        steps.append(("categorical", make_pipeline(to_str, enc), categorical))
    for col in text:
        steps.append((f"text_{col}", TfidfVectorizer(
            min_df=2, ngram_range=(1, 2), max_features=max_text_features, sublinear_tf=True,
            dtype=np.float64), col))
    return ColumnTransformer(steps, sparse_threshold=0.3)
