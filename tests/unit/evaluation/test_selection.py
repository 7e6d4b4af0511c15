"""Model selection with confidence (workbench.evaluation.selection): the simplest candidate that cannot be told apart wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import make_case
from workbench.cases import load_case
from workbench.evaluation import selection


def planted(n: int = 4000, seed: int = 0):
    """Validation labels and three candidates' scores: 'simple' and 'tied' make nearly the same decisions,
    'clever' is much better."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    signal = y + rng.normal(0, 0.8, n)
    simple = 1 / (1 + np.exp(-signal))
    tied = np.where(rng.random(n) < 0.01, 1 - simple, simple)  # 1% of rows scored the other way
    clever = 1 / (1 + np.exp(-(y * 3 + rng.normal(0, 0.8, n))))
    return y, {"simple": simple, "tied": tied, "clever": clever}


def cost(y, pred, c_fp=1.0, c_fn=4.0) -> float:
    return 1000 * (c_fp * np.sum(pred & (y == 0)) + c_fn * np.sum(~pred & (y == 1))) / len(y)


def test_the_simplest_candidate_wins_when_the_cheapest_cannot_be_told_apart_from_it() -> None:
    y, scores = planted()
    table, chosen = selection.choose(y, {"simple": scores["simple"], "tied": scores["tied"]}, 1.0, 4.0, n_boot=500)
    assert chosen == "simple"
    row = table.set_index("model")
    assert not row.loc["simple", "distinguishable"] and row.loc["simple", "diff_lo"] <= 0 <= row.loc["simple", "diff_hi"]


def test_a_clearly_cheaper_complex_candidate_wins_and_thresholds_are_the_validation_optimum() -> None:
    y, scores = planted()
    table, chosen = selection.choose(y, scores, 1.0, 4.0, n_boot=500)
    assert chosen == "clever" and table.set_index("model").loc["simple", "distinguishable"]
    for _, r in table.iterrows():  # each threshold is the cheapest of every cut on a fine grid (brute force)
        s = scores[r["model"]]
        best = min(cost(y, s >= t) for t in np.unique(s))
        assert r["val_cost_per_1000"] == pytest.approx(best)
        assert cost(y, s >= r["threshold"]) == pytest.approx(best)


def test_judge_reports_test_costs_at_validation_thresholds_and_paired_differences() -> None:
    y, scores = planted(seed=1)
    thresholds = {"simple": 0.45, "tied": 0.5, "clever": 0.75}
    judged = selection.judge(y, scores, thresholds, "clever", 1.0, 4.0, n_boot=500).set_index("model")
    for m, s in scores.items():
        assert judged.loc[m, "test_cost_per_1000"] == pytest.approx(cost(y, s >= thresholds[m]))
        assert judged.loc[m, "diff_vs_chosen"] == pytest.approx(cost(y, s >= thresholds[m]) - cost(y, scores["clever"] >= 0.75))
    assert judged.loc["simple", "distinguishable"] and not judged.loc["clever", "distinguishable"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    case = load_case(make_case(tmp_path_factory.mktemp("sel") / "sel", n=1200))
    df, y = case.frame(), case.labels()
    return case, df, y, selection.fit_candidates(case, df.iloc[:800], y[:800], which=selection.CANDIDATES,
                                                 lgbm_trees=30, stack_folds=3)


def test_candidates_score_together_and_the_average_is_the_mean_of_the_two(fitted) -> None:
    case, df, y, c = fitted
    rows = df.iloc[800:]
    s = c.scores(rows)
    assert list(s) == ["logistic", "lightgbm", "average", "stacked"]
    logistic = c.base["logistic"].model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(s["logistic"], logistic)
    np.testing.assert_allclose(s["average"], (s["logistic"] + s["lightgbm"]) / 2)
    np.testing.assert_allclose(c.scorer("lightgbm")(rows), s["lightgbm"])
    assert c.scores(rows, ("logistic",)).keys() == {"logistic"}
    assert np.corrcoef(s["stacked"], s["average"])[0, 1] > 0.9 and c.meta.coef_.shape == (1, 2), "stacked on both models"
    with pytest.raises(ValueError, match="unknown candidate"):
        c.scorer("forest")


def test_a_base_model_scores_each_frame_once_but_a_changed_frame_again(fitted) -> None:
    case, df, y, c = fitted
    rows = df.iloc[800:].copy()
    first = c.base["lightgbm"].predict_proba(rows)
    assert c.base["lightgbm"].predict_proba(rows) is first, "the same frame is not scored twice"
    other = rows.assign(x=rows["x"] + 5)
    assert not np.array_equal(c.base["lightgbm"].predict_proba(other), first)


def test_assemble_builds_candidates_from_base_models_fitted_elsewhere(fitted) -> None:
    case, df, y, c = fitted
    built = selection.assemble(("logistic", "average"), c.base, {"logistic": "mine"})
    rows = df.iloc[800:]
    np.testing.assert_allclose(built.scores(rows)["average"], c.scores(rows)["average"])
    assert built.descriptions["logistic"] == "mine"
    with pytest.raises(ValueError, match="stacked model"):
        selection.assemble(("stacked",), c.base, {})
    with pytest.raises(ValueError, match="need fitted base models"):
        selection.assemble(("average",), {"logistic": c.base["logistic"]}, {})
    assert selection.components(["average", "logistic"]) == ["logistic", "lightgbm"]


def test_fixes_reach_the_candidates_through_columns_and_monotone(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path / "fx", n=1500))
    df, y = case.frame(), case.labels()
    c = selection.fit_candidates(case, df, y, which=("logistic", "lightgbm"), lgbm_trees=30, columns=["x"],
                                 monotone={"x": 1})
    recoloured = df.assign(colour="red")
    for m, s in c.scores(df).items():
        np.testing.assert_allclose(s, c.scores(recoloured)[m], err_msg=f"{m} must not see colour")
    assert list(c.base["lightgbm"].model[-1].get_params()["monotone_constraints"]) == [1]
    assert "monotone in x" in c.descriptions["lightgbm"]
