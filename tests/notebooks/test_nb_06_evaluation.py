"""Notebook 06_evaluation: execute it with parameters and check what it recorded.

Violation rates are recomputed here from the predictions the notebook saved (the scores before and
after each perturbation, and each candidate's test scores), with pandas and numpy only; split sizes
and costs from the raw parquet files. Two runs where the evidence differs must reach different
verdicts, and permuting the test labels must leave every choice unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import REPO, latest_rows, make_case, raw_case, shared_run
from workbench.fileio import sha256_file

pytestmark = pytest.mark.notebook

CASES = ("lending", "reviews", "flights", "census")
TOL = 1e-9  # the notebook's wrong-way margin for DIR tests


def run(params: dict, runs: Path):
    result = shared_run("06_evaluation", params)
    assert result.ok, result.error
    return result


@pytest.fixture(scope="module")
def runs06(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each bundled case with the notebook's defaults, under `workbench run`'s machinery."""
    runs = tmp_path_factory.mktemp("runs")
    return {c: run({"case": c}, runs) for c in CASES}


def saved(result, scores: str = "test") -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = result.run.folder
    return pd.read_parquet(folder / "behaviour_predictions.parquet"), pd.read_parquet(folder / f"{scores}_scores.parquet")


def recompute_violations(d: pd.DataFrame, threshold: float) -> pd.Series:
    """Each row's violation from its scores alone: DIR a wrong-way move, INV a flipped decision, MFT a wrong one."""
    before, after = d["score"] >= threshold, d["score_after"] >= threshold
    return pd.Series(np.select([d["family"] == "DIR", d["family"] == "INV"],
                               [d["direction"] * (d["score_after"] - d["score"]) < -TOL, before != after],
                               after.astype(int) != d["expected"]), index=d.index)


@pytest.mark.parametrize("case_id", CASES)
def test_split_sizes_and_the_declared_tests_match_the_raw_case(runs06, case_id: str) -> None:
    r = runs06[case_id].results
    spec, df, y = raw_case(case_id)
    n = len(df)
    n_test = math.ceil(0.25 * n)
    if spec.get("time_column"):
        assert r["split_kind"] == "time" and r["n_test"] == latest_rows(df[spec["time_column"]].to_numpy(), 0.25).sum()
    else:
        assert r["split_kind"] == "random" and r["n_test"] == n_test
        assert r["n_val"] == math.ceil(0.3 * (n - n_test)) and r["n_fit"] == min(10_000, n - n_test - r["n_val"])
    declared = spec["expectations"]
    expected_count = (bool(declared.get("examples")) + len(declared.get("invariances", []))
                      + len(declared.get("monotone", {})) + len(declared.get("directional", [])))
    assert len(r["tests"]) == expected_count
    families = {"MFT": "examples" in declared, "INV": "invariances" in declared,
                "DIR": "monotone" in declared or "directional" in declared}
    assert r["skipped_families"] == [f for f, has in families.items() if not has]


@pytest.mark.parametrize("case_id", CASES)
def test_recorded_violation_rates_equal_a_recomputation_from_the_saved_predictions(runs06, case_id: str) -> None:
    result = runs06[case_id]
    r = result.results
    detail, _ = saved(result)
    chosen, thresholds = r["chosen_model"], r["thresholds"]
    test_rows = detail[(detail["rows"] == "test") & (detail["model"] == chosen)]
    assert set(test_rows["test"]) == set(r["tests"]) == set(r["test_violations"])
    for name, g in test_rows.groupby("test"):
        rate, lo, hi = r["test_violations"][name]
        assert rate == pytest.approx(recompute_violations(g, thresholds[chosen]).mean(), abs=1e-12), name
        assert lo <= rate <= hi
        assert (g["row"].str.len() > 0).all() and (len(g) == r["n_behaviour"] or g["family"].iloc[0] == "MFT")
    val_rows = detail[detail["rows"] == "validation"]
    for (model, name), g in val_rows.groupby(["model", "test"]):
        assert r["violations_after"][model][name] == pytest.approx(recompute_violations(g, thresholds[model]).mean(), abs=1e-12)
    assert sorted(r["test_failing"]) == sorted(n for n, (rate, _, _) in r["test_violations"].items() if rate > r["tolerance"])


@pytest.mark.parametrize("case_id", CASES)
def test_candidate_costs_and_differences_equal_a_recomputation_from_the_saved_test_scores(runs06, case_id: str) -> None:
    result = runs06[case_id]
    r = result.results
    _, scores = saved(result)
    spec, _, _ = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    y = scores["y"].to_numpy().astype(bool)
    cost = {}
    for m in ("logistic", "lightgbm", "average"):
        pred = scores[m].to_numpy() >= scores[f"threshold_{m}"].iloc[0]
        cost[m] = 1000 * (c_fp * np.sum(pred & ~y) + c_fn * np.sum(~pred & y)) / len(y)
        assert r[f"test_cost_{m}"] == pytest.approx(cost[m], rel=1e-9)
    chosen = r["chosen_model"]
    for m in cost:
        if m != chosen:
            assert r[f"test_diff_{m}"] == pytest.approx(cost[m] - cost[chosen], rel=1e-9, abs=1e-9)
            assert r[f"test_diff_{m}_lo"] <= r[f"test_diff_{m}"] <= r[f"test_diff_{m}_hi"]
    assert r["n_test"] == len(y) and r["eligible"] and chosen in r["eligible"]


@pytest.mark.parametrize("case_id", CASES)
def test_thresholds_costs_and_the_choice_come_from_the_validation_scores(runs06, case_id: str) -> None:
    result = runs06[case_id]
    r = result.results
    _, scores = saved(result, "val")
    spec, _, _ = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    y = scores["y"].to_numpy().astype(bool)
    assert len(y) == r["n_val"]

    def cost(s, t):  # cost per 1,000 of flagging s >= t, for an array of thresholds t (counts from sorted scores)
        pos, neg = np.sort(s[y]), np.sort(s[~y])
        tp = len(pos) - np.searchsorted(pos, t, side="left")
        fp = len(neg) - np.searchsorted(neg, t, side="left")
        return 1000 * (c_fp * fp + c_fn * (len(pos) - tp)) / len(y)

    val_cost = {}
    for m in ("logistic", "lightgbm", "average"):
        s = scores[m].to_numpy()
        t = r["thresholds"][m]
        best = cost(s, np.r_[np.unique(s), np.inf]).min()  # every distinct score as a threshold, and flagging nothing
        assert cost(s, np.array([np.inf if t is None else t]))[0] == pytest.approx(best), f"{m}: the validation optimum"
        val_cost[m] = best
        if m in r["eligible"]:
            assert r[f"val_cost_{m}"] == pytest.approx(best)
    cheapest = min(r["eligible"], key=val_cost.get)
    order = ["logistic", "lightgbm", "average"]
    chosen = r["chosen_model"]
    assert chosen == cheapest or (order.index(chosen) < order.index(cheapest) and
                                  r[f"val_diff_{chosen}_lo"] <= 0 <= r[f"val_diff_{chosen}_hi"])
    for m in r["eligible"]:
        if m != cheapest:
            assert r[f"val_diff_{m}"] == pytest.approx(val_cost[m] - val_cost[cheapest])


@pytest.mark.parametrize("case_id", CASES)
def test_the_verdict_follows_from_the_validation_evidence(runs06, case_id: str) -> None:
    r = runs06[case_id].results
    chosen = r["chosen_model"]
    fails = [n for n, rate in r["violations_after"][chosen].items() if rate > r["tolerance"]]
    parts = {"logistic": ["logistic"], "lightgbm": ["lightgbm"], "average": ["logistic", "lightgbm"]}[chosen]
    fixed = sorted({f for p in parts for f in r["adopted_fixes"][p]})
    assert r["verdict"] == ("do not ship" if fails else "ship with constraints" if fixed else "ship")
    assert r["decision"]["choice"].startswith(r["verdict"] + ": " + chosen)
    for p in parts:  # what each adopted fix cost, with its interval
        for f in r["adopted_fixes"][p]:
            name = f"fix_{f}_{p}_test_cost_change"
            assert r[f"{name}_lo"] <= r[name] <= r[f"{name}_hi"]
    passing = [m for m, rates in r["violations_after"].items() if all(v <= r["tolerance"] for v in rates.values())]
    assert sorted(r["eligible"]) == sorted(passing or r["violations_after"])


def test_lending_lightgbm_breaks_the_declared_directions_until_it_is_constrained(runs06) -> None:
    r = runs06["lending"].results
    before = r["violations_before"]
    assert before["lightgbm"]["annual_inc x2"] > 0.3, "doubling income makes LightGBM riskier for many loans"
    assert "monotone" in r["adopted_fixes"]["lightgbm"] and "monotone" not in r["adopted_fixes"]["logistic"]
    assert all(r["violations_after"]["lightgbm"][n] == 0 for n in ("annual_inc x2", "int_rate +1", "inq_last_6mths +1",
                                                                   "delinq_2yrs +1"))
    assert r["fix_monotone_lightgbm_test_cost_change_lo"] <= r["fix_monotone_lightgbm_test_cost_change"]


def test_census_drops_sex_and_race_and_says_how_much_the_other_features_still_carry(runs06) -> None:
    r = runs06["census"].results
    assert r["violations_before"]["lightgbm"]["swap SEX"] > r["tolerance"]
    assert all("drop" in r["adopted_fixes"][m] for m in ("logistic", "lightgbm"))
    assert all(r["violations_after"][m][f"swap {c}"] == 0 for m in r["violations_after"] for c in ("SEX", "RAC1P"))
    assert set(r["proxy_auc"]) == {"SEX", "RAC1P"} and all(0.55 < a < 1 for a in r["proxy_auc"].values())


def test_abstention_on_test_rows_applies_the_cut_off_chosen_on_validation(runs06) -> None:
    for case_id, result in runs06.items():
        r = result.results
        spec, _, _ = raw_case(case_id)
        _, scores = saved(result)
        c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
        p = scores[r["chosen_model"]].to_numpy()
        d = p >= r["thresholds"][r["chosen_model"]]
        u = np.where(d, (1 - p) * c_fp, p * c_fn)
        cut = r["abstain_cutoff"]
        share = 0.0 if cut is None else float(np.mean(u >= cut))
        assert r["abstain_test_share"] == pytest.approx(share), case_id
        if case_id == "reviews":  # a review costs what a false positive does: more than any decision can lose
            assert r["abstain_share"] == 0.0 and cut is None


def test_switching_the_monotone_fix_off_turns_the_verdict(runs06, tmp_path: Path) -> None:
    off = run({"case": "lending", "monotone_constraints": False}, tmp_path).results
    on = runs06["lending"].results
    assert on["verdict"] == "ship with constraints" and off["verdict"] == "do not ship"
    assert "monotone" not in off["fixes_tried"] and off["violations_before"] == on["violations_before"]
    assert "annual_inc x2" in off["decision"]["choice"]


def test_permuting_the_test_labels_changes_test_costs_but_no_choice(runs06, tmp_path: Path) -> None:
    spec, df, _ = raw_case("flights")
    test = np.flatnonzero(latest_rows(df[spec["time_column"]].to_numpy(), 0.25))
    rng = np.random.default_rng(0)
    df.loc[df.index[test], spec["target"]] = rng.permutation(df[spec["target"]].to_numpy()[test])
    folder = tmp_path / "cases" / "flights"
    folder.mkdir(parents=True)
    df.to_parquet(folder / "flights.parquet", index=False)
    (folder / "case.yaml").write_text(yaml.safe_dump({**spec, "sha256": sha256_file(folder / "flights.parquet")},
                                                     sort_keys=False))
    permuted = run({"case": str(folder)}, tmp_path / "runs").results
    base = runs06["flights"].results
    for key in ("chosen_model", "verdict", "adopted_fixes", "thresholds", "eligible", "abstain_share", "abstain_cutoff",
                "violations_before", "violations_after"):
        assert permuted[key] == base[key], key
    assert permuted["test_cost_lightgbm"] != base["test_cost_lightgbm"], "the test labels did change"


def test_a_case_without_expectations_runs_and_names_what_it_skipped(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "cases" / "plain", n=3000, notebooks=["06_evaluation"])
    r = run({"case": str(folder)}, tmp_path / "runs").results
    assert r["tests"] == [] and r["skipped_families"] == ["MFT", "INV", "DIR"]
    assert r["verdict"] == "ship" and r["abstain_share"] is None
    assert any("declares no expectations" in e for e in r["decision"]["evidence"])


def test_the_notebook_is_committed_clean_and_applies_to_every_binary_case() -> None:
    nb = json.loads((REPO / "notebooks" / "06_evaluation.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    assert all(c["execution_count"] is None and not c["outputs"] for c in code)
    meta = nb["metadata"]["workbench"]
    assert meta["section"] == "model" and meta["requires"] == [] and meta["tasks"] == ["binary"]
