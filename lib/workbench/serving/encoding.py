"""A case's numeric and categorical features as one float matrix, the input every runtime takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["Encoded", "encode"]


@dataclass(frozen=True)
class Encoded:
    """Rows as 32-bit floats: numeric columns as they are (NaN when missing), categorical columns as
    codes (learned on the fitting rows; unknown levels -1, rare ones pooled)."""

    X: np.ndarray
    names: tuple[str, ...]
    categorical: tuple[int, ...]  # positions of the categorical columns


def encode(case: Case, data: pd.DataFrame, fit_rows: np.ndarray, rows: np.ndarray | None = None) -> Encoded:
    """Encode the rows of data (all, or only `rows`: the others are left NaN) with the case's tree
    preprocessor fitted on data.iloc[fit_rows] (leaky and text features are left out)."""
    from workbench.modelling.preprocessing import preprocessor

    numeric = case.feature_columns(("numeric",))
    categorical = case.feature_columns(("categorical",))
    if not numeric + categorical:
        raise WorkbenchError(f"case '{case.id}' has no numeric or categorical features to serve a tree model on")
    pre = preprocessor(case, model="tree", columns=numeric + categorical)
    pre.fit(data.iloc[fit_rows])
    if rows is None:
        X = np.asarray(pre.transform(data), dtype=np.float32)
    else:
        X = np.full((len(data), len(numeric + categorical)), np.nan, dtype=np.float32)
        X[rows] = pre.transform(data.iloc[rows])
    names = tuple(numeric + categorical)  # the preprocessor puts numeric columns first
    return Encoded(X, names, tuple(range(len(numeric), len(names))))
