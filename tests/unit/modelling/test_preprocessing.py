"""Preprocessing from a case's declared kinds, and smoothed group rates (workbench.modelling.preprocessing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.cases import load_case
from workbench.modelling.preprocessing import preprocessor


def test_preprocessor_keeps_only_the_named_columns_and_rejects_unknown_ones(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    for model in ("linear", "tree", "target"):
        assert preprocessor(case, model=model, columns=["colour"]).fit(df, y).feature_names_in_ is not None
        assert preprocessor(case, model=model, columns=["colour"]).fit_transform(df, y).shape[1] == (
            3 if model == "linear" else 1)
    assert preprocessor(case, model="tree").fit_transform(df, y).shape[1] == 2
    with pytest.raises(ValueError, match="not features of case"):
        preprocessor(case, columns=["colour", "id"])


def test_target_preprocessor_encodes_each_level_by_its_positive_rate(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    pre = preprocessor(case, model="target").fit(df, y)
    out = pre.transform(df)
    assert out.shape == (len(df), 2)
    assert np.allclose(out[:, 0].mean(), 0) and np.allclose(out[:, 0].std(), 1)  # x: standardised
    rate = pd.Series(y).groupby(df["colour"].to_numpy()).mean()
    enc = pd.Series(out[:, 1]).groupby(df["colour"].to_numpy()).mean()
    assert enc.idxmax() == rate.idxmax() and np.allclose(enc, rate[enc.index], atol=0.1)
