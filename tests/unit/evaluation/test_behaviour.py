"""Behavioural tests (workbench.evaluation.behaviour): they find planted violations, pass what is right, say how sure they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from tests.helpers import make_case
from workbench.cases import load_case
from workbench.evaluation import behaviour
from workbench.evaluation.behaviour import BehaviourTest
from workbench.modelling import boosting

EXPECTATIONS = {
    "monotone": {"x": {"direction": "increasing", "step": 0.5}},
    "invariances": [{"kind": "round", "column": "x", "unit": 0.001}, {"kind": "swap", "column": "colour"}],
    "examples": [{"name": "high x", "expected": "yes", "x": 3.0}, {"name": "low x", "expected": "no", "x": -3.0}],
}


@pytest.fixture
def case(tmp_path: Path):
    return load_case(make_case(tmp_path / "exp", n=2000, expectations=EXPECTATIONS))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_the_tests_a_case_declares_and_the_families_it_skips(case) -> None:
    tests, skipped = behaviour.case_tests(case, case.frame())
    assert [(t.name, t.family, t.kind) for t in tests] == [
        ("examples", "MFT", "examples"), ("round x (unit 0.001)", "INV", "round"), ("swap colour", "INV", "swap"),
        ("x +0.5", "DIR", "monotone")]
    assert skipped == []
    mft = tests[0]
    assert mft.examples["x"].tolist() == [3.0, -3.0] and mft.expected.tolist() == [1, 0]
    assert (mft.examples["colour"] == case.frame()["colour"].mode()[0]).all(), "a feature an example leaves out is typical"
    none, skipped = behaviour.case_tests(load_case(make_case(case.folder.parent / "plain")), case.frame())
    assert none == [] and [s.split(":")[0] for s in skipped] == ["MFT", "INV", "DIR"]


def test_a_planted_non_monotone_model_is_found_at_its_true_rate(case) -> None:
    tests, _ = behaviour.case_tests(case, case.frame())
    direction = [t for t in tests if t.family == "DIR"]
    rows = case.frame()
    table, detail = behaviour.run_tests(lambda r: sigmoid(np.sin(3 * r["x"].to_numpy())), direction, rows, 0.5)
    x = rows["x"].to_numpy()
    truth = np.sin(3 * (x + 0.5)) < np.sin(3 * x)  # brute force: where the wave falls over a step of 0.5
    assert table.loc[0, "violations"] == truth.sum() > 300
    np.testing.assert_array_equal(detail["violation"].to_numpy(), truth)
    lo, hi = table.loc[0, ["violation_lo", "violation_hi"]]
    assert lo < truth.mean() < hi
    flips = ((np.sin(3 * (x + 0.5)) < 0) & (np.sin(3 * x) >= 0)).mean()
    assert table.loc[0, "flip_rate"] == pytest.approx(flips), "a DIR flip is a decision that changes the wrong way"


def test_a_monotone_constrained_model_passes_where_the_plain_one_fails(case) -> None:
    rows = case.frame()
    bumped = rows.assign(label=np.where(np.abs(rows["x"]) < 0.7, "yes", "no"))  # a bump: not monotone in x
    y = (bumped["label"] == "yes").to_numpy(dtype=int)
    plain = boosting.fit_pipeline(boosting.pipeline(case, n_estimators=40), bumped, y)
    fixed = boosting.fit_pipeline(boosting.pipeline(case, n_estimators=40), bumped, y, monotone={"x": 1})
    tests, _ = behaviour.case_tests(case, rows)
    scores = lambda r: {"plain": plain.predict_proba(r)[:, 1], "fixed": fixed.predict_proba(r)[:, 1]}
    table, _ = behaviour.run_tests(scores, [t for t in tests if t.family == "DIR"], rows, {"plain": 0.5, "fixed": 0.5})
    rate = table.set_index("model")["violation_rate"]
    assert rate["plain"] > 0.2 and rate["fixed"] == 0.0


def test_an_invariance_that_changes_nothing_reports_zero_flips(case) -> None:
    model = boosting.pipeline(case, n_estimators=30).fit(case.frame(), case.labels())
    same = BehaviourTest("identity", "INV", "nothing changes", "x", perturb=lambda r: r.copy())
    table, detail = behaviour.run_tests(lambda r: model.predict_proba(r)[:, 1], [same], case.frame(), 0.3)
    assert table.loc[0, "violations"] == 0 and table.loc[0, "flip_rate"] == 0.0 and table.loc[0, "mean_score_change"] == 0.0
    assert table.loc[0, "violation_hi"] == pytest.approx(1.645 ** 2 / (2000 + 1.645 ** 2), rel=1e-3), "0 of n is not 0.00"
    assert not detail["violation"].any()


def test_rate_intervals_cover_a_known_flip_rate_at_their_level() -> None:
    # A perturbation redraws u; the decision is (x > 0) xor (u < p), so it flips with probability 2p(1 - p).
    p, n, runs = 0.1, 300, 400
    truth = 2 * p * (1 - p)
    covered = 0
    for k in range(runs):
        rng = np.random.default_rng(k)
        rows = pd.DataFrame({"x": rng.normal(size=n), "u": rng.random(n)})
        redraw = BehaviourTest("redraw", "INV", "u redrawn", "u", perturb=lambda r, s=k: r.assign(
            u=np.random.default_rng(10_000 + s).random(len(r))))
        score = lambda r: ((r["x"] > 0) ^ (r["u"] < p)).to_numpy(dtype=float)
        table, _ = behaviour.run_tests(score, [redraw], rows, 0.5, level=0.9)
        covered += table.loc[0, "flip_lo"] <= truth <= table.loc[0, "flip_hi"]
    assert binomtest(covered, runs, 0.9).pvalue > 0.01, f"90% intervals covered the truth in {covered} of {runs} runs"


def test_examples_fail_when_the_decision_is_not_the_expected_one(case) -> None:
    tests, _ = behaviour.case_tests(case, case.frame())
    mft = [tests[0]]
    right, _ = behaviour.run_tests(lambda r: sigmoid(r["x"].to_numpy()), mft, case.frame(), 0.5)
    wrong, detail = behaviour.run_tests(lambda r: np.where(r["x"] > 0, 0.2, 0.99), mft, case.frame(), 0.5)
    assert right.loc[0, "violations"] == 0 and wrong.loc[0, "violations"] == 2
    assert behaviour.worst_examples(detail, "examples")["row"].tolist() == ["low x", "high x"], "furthest wrong first"


def test_worst_examples_and_the_paired_difference_compare_models_on_the_same_rows(case) -> None:
    rows = case.frame()
    tests, _ = behaviour.case_tests(case, rows)
    dir_test = [t for t in tests if t.family == "DIR"]
    wave = lambda r: sigmoid(np.sin(3 * r["x"].to_numpy()))
    _, a = behaviour.run_tests(wave, dir_test, rows, 0.5)
    _, b = behaviour.run_tests(lambda r: sigmoid(r["x"].to_numpy()), dir_test, rows, 0.5)
    worst = behaviour.worst_examples(a, "x +0.5", 3)
    moves = (a["score"] - a["score_after"])[a["violation"]]
    np.testing.assert_allclose(worst["score"] - worst["score_after"], np.sort(moves.to_numpy())[::-1][:3])
    d = behaviour.paired_violation_difference(a, b, "x +0.5", n_boot=500)
    assert d.value == pytest.approx(a["violation"].mean()) and d.lo > 0, "the wave is worse than a monotone score"
    with pytest.raises(ValueError, match="same rows"):
        behaviour.paired_violation_difference(a, b.iloc[::-1], "x +0.5")


def test_repeated_test_names_are_numbered_and_a_perturbation_is_computed_once_per_frame(tmp_path: Path) -> None:
    twice = {"invariances": [{"kind": "swap", "column": "colour"}, {"kind": "swap", "column": "colour"}]}
    case = load_case(make_case(tmp_path / "twice", expectations=twice))
    tests, _ = behaviour.case_tests(case, case.frame())
    assert [t.name for t in tests] == ["swap colour", "swap colour #2"]
    rows = case.frame()
    assert tests[0].perturb(rows) is tests[0].perturb(rows), "one perturbed frame, whatever the number of models"
    assert not tests[0].perturb(rows).equals(tests[1].perturb(rows)), "each test draws its own swaps"


def test_changed_window_shows_where_two_texts_differ() -> None:
    before = "x" * 200 + " I liked it."
    assert behaviour.changed_window(before, before + " It came by post.", width=40) == (
        "...x I liked it.", "...x I liked it. It came by post.")
    a, b = behaviour.changed_window("a" * 30 + "tatse" + "b" * 100, "a" * 30 + "taste" + "b" * 100, width=12)
    assert (a, b) == ("...aatatsebbbbb...", "...aatastebbbbb..."), "a third of the window before the change"
    assert behaviour.changed_window("same", "same") == ("same", "same")
