"""The LightGBM wrapper (workbench.boosting): its Pipeline, gains and model size."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from workbench import boosting
from workbench.cases import load_case


def test_pipeline_uses_only_the_named_columns_and_is_deterministic(tiny_case) -> None:
    case = load_case(tiny_case)
    df, y = case.frame(), case.labels()
    model = boosting.pipeline(case, columns=["x"], n_estimators=40, n_jobs=1).fit(df, y)
    assert model[-1].n_features_in_ == 1
    score = model.predict_proba(df.assign(colour="never seen"))[:, 1]
    assert np.array_equal(score, model.predict_proba(df)[:, 1]), "colour is not an input"
    again = boosting.pipeline(case, columns=["x"], n_estimators=40, n_jobs=1).fit(df, y)
    assert np.array_equal(score, again.predict_proba(df)[:, 1])
    assert roc_auc_score(y, score) > 0.7  # x drives the tiny case's label


def test_gain_importance_and_size_come_from_the_fitted_booster(tiny_case) -> None:
    case = load_case(tiny_case)
    model = boosting.pipeline(case, n_estimators=20, n_jobs=1).fit(case.frame(), case.labels())[-1]
    trees = model.booster_.trees_to_dataframe()
    gains = trees.groupby("split_feature")["split_gain"].sum()
    assert boosting.gain_importance(model) == pytest.approx([gains.get("Column_0", 0), gains.get("Column_1", 0)])
    assert boosting.model_size_bytes(model) == len(model.booster_.model_to_string().encode())
    bigger = boosting.pipeline(case, n_estimators=60, n_jobs=1).fit(case.frame(), case.labels())[-1]
    assert boosting.model_size_bytes(bigger) > boosting.model_size_bytes(model)
