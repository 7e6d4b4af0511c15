"""Notebook 10_fairness: execute it on its cases and recompute what it recorded.

Every recorded figure is recomputed here with numpy, pandas and scikit-learn from the raw parquet
files and from the run's saved predictions (`predictions.parquet`: validation and test rows, their
labels, scores, groups and every option's decisions), not through the workbench library.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import REPO, raw_case, shared_run
from workbench.runner.run import RunResult, execute, plan_run

pytestmark = pytest.mark.notebook

RUNS = {"census": {"case": "census"}, "lending": {"case": "lending"},
        "census_loose": {"case": "census", "disparity_limit": 0.2}}
SINGLE = "single threshold"
RATE_COLUMNS = ("selection_rate", "tpr", "fpr")
# the choices, made on validation rows: they must not move when test labels do
CHOICES = ("threshold", "threshold_unaware", "attribute", "attribute_disparities", "chance_disparity", "compared_groups",
           "options_val", "group_thresholds", "needs_mitigation", "mitigation", "criterion", "disparity_limit")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    out = {}
    for name, params in RUNS.items():
        result = shared_run("10_fairness", params)
        assert result.ok, result.error
        out[name] = result
    return out


@pytest.fixture(scope="module")
def permuted(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """census with the labels of its test years (2017 and 2018) shuffled among themselves."""
    spec, df, _ = raw_case("census")
    folder = tmp_path_factory.mktemp("cases") / "census_permuted"
    folder.mkdir()
    later = np.flatnonzero(df["survey_year"].dt.year.to_numpy() >= 2017)
    target = df[spec["target"]].to_numpy().copy()
    target[later] = np.random.default_rng(123).permutation(target[later])
    df[spec["target"]] = target
    df.to_parquet(folder / spec["data"], index=False)
    (folder / "case.yaml").write_text(yaml.safe_dump({**spec, "id": folder.name, "sha256": None}, sort_keys=False))
    result = execute(plan_run("10_fairness", {"case": str(folder)}, runs_dir=folder.parent / "runs"))
    assert result.ok, result.error
    return result


def saved(result: RunResult) -> pd.DataFrame:
    return pd.read_parquet(result.run.folder / "predictions.parquet")


def group_rates(frame: pd.DataFrame, pred: str, by: str = "group") -> pd.DataFrame:
    """Per group: rows, positives, base rate, selection rate, TPR, FPR, precision, calibration gap."""
    d = frame.assign(p=frame[pred], tp=lambda x: x.p * x.y, fp=lambda x: x.p * (1 - x.y))
    g = d.groupby(by)
    out = pd.DataFrame({"rows": g.size(), "positives": g["y"].sum(), "base_rate": g["y"].mean(),
                        "selection_rate": g["p"].mean(), "tpr": g["tp"].sum() / g["y"].sum(),
                        "fpr": g["fp"].sum() / (g.size() - g["y"].sum()), "precision": g["tp"].sum() / g["p"].sum(),
                        "calibration_gap": g["score"].mean() - g["y"].mean()})
    return out


def cost(frame: pd.DataFrame, pred: str, c_fp: float, c_fn: float) -> float:
    p, y = frame[pred].to_numpy(), frame["y"].to_numpy()
    return 1000 * (c_fp * np.sum((p == 1) & (y == 0)) + c_fn * np.sum((p == 0) & (y == 1))) / len(y)


def spread(frame: pd.DataFrame, pred: str, rates: list[str]) -> float:
    """The largest max - min over the compared groups of each rate."""
    r = group_rates(frame[frame["compared"]], pred)
    return max(r[k].max() - r[k].min() for k in rates)


def costs_of(case_id: str) -> tuple[float, float]:
    spec, _, _ = raw_case(case_id)
    return spec["costs"]["false_positive"], spec["costs"]["false_negative"]


@pytest.mark.parametrize("name", ["census", "lending"])
def test_the_sample_and_the_split_match_the_raw_data(runs, name: str) -> None:
    r, frame = runs[name].results, saved(runs[name])
    spec, df, y = raw_case(name)
    n = len(df)
    sampled = np.sort(np.random.default_rng(0).choice(n, size=40_000, replace=False)) if n > 40_000 else np.arange(n)
    n_test = math.ceil(0.4 * n)
    if spec.get("time_column"):
        t = df[spec["time_column"]].to_numpy()
        test = t >= np.sort(t)[n - n_test]
        dev = np.flatnonzero(~test)
        td = t[dev]
        val = np.zeros(n, bool)
        val[dev[td >= np.sort(td)[len(dev) - math.ceil(0.4 * len(dev))]]] = True
        years = df[spec["time_column"]].dt.year.to_numpy()
        assert set(years[val]) == {2016} and set(years[test]) == {2017, 2018}, "fit 2015, choose on 2016, judge after"
        assert r["periods"] == {"fit": "2015", "validation": "2016", "test": "2017, 2018"}
    else:
        from sklearn.model_selection import train_test_split

        dev_rows, test_rows = train_test_split(np.arange(n), test_size=n_test, random_state=0, stratify=y)
        dev_rows = np.sort(dev_rows)
        _, val_pos = train_test_split(np.arange(len(dev_rows)), test_size=math.ceil(0.4 * len(dev_rows)),
                                      random_state=0, stratify=y[dev_rows])
        test, val = np.isin(np.arange(n), test_rows), np.isin(np.arange(n), dev_rows[val_pos])
    in_sample = np.isin(np.arange(n), sampled)
    assert r["n_sampled"] == len(sampled) and r["n_rows"] == n
    assert r["n_test"] == np.sum(test & in_sample) and r["n_val"] == np.sum(val & in_sample)
    assert r["n_fit"] == np.sum(~test & ~val & in_sample)
    for part, mask in [("validation", val), ("test", test)]:
        rows = frame.loc[frame["part"] == part, "row"].to_numpy()
        assert np.array_equal(rows, np.flatnonzero(mask & in_sample)), part
        assert np.array_equal(frame.loc[frame["part"] == part, "y"].to_numpy(), y[rows].astype(int))
        for a in spec["sensitive"]:
            assert (frame.loc[frame["part"] == part, f"attr_{a}"].to_numpy() == df[a].astype(str).to_numpy()[rows]).all()


@pytest.mark.parametrize("name", list(RUNS))
def test_the_single_threshold_is_the_cheapest_on_validation_scores(runs, name: str) -> None:
    r, frame = runs[name].results, saved(runs[name])
    c_fp, c_fn = costs_of(RUNS[name]["case"])
    val = frame[frame["part"] == "validation"]
    candidates = np.r_[np.inf, np.sort(val["score"].unique())[::-1]]  # highest first: ties go to the higher
    costs = [c_fp * np.sum((val.score >= t) & (val.y == 0)) + c_fn * np.sum((val.score < t) & (val.y == 1))
             for t in candidates]
    assert r["threshold"] == pytest.approx(candidates[int(np.argmin(costs))])
    assert np.array_equal(frame[f"pred_{SINGLE}"].to_numpy(), (frame["score"] >= r["threshold"]).astype(int).to_numpy())


@pytest.mark.parametrize("name", ["census", "lending"])
def test_who_bears_the_errors_matches_a_pandas_recomputation(runs, name: str) -> None:
    r, frame = runs[name].results, saved(runs[name])
    c_fp, c_fn = costs_of(name)
    test = frame[frame["part"] == "test"]
    chosen = f"pred_{r['mitigation']}"
    checks = [(a, f"pred_{SINGLE}", r["groups_by_attribute"][a]) for a in r["groups_by_attribute"]]
    checks.append((r["attribute"], chosen, r["group_metrics"]))
    for a, pred, recorded in checks:
        expected = group_rates(test, pred, f"attr_{a}")
        got = {row["group"]: row for row in recorded}
        assert set(got) == set(expected.index) | {"(all)"}
        for g, row in expected.iterrows():
            rec = got[g]
            assert (rec["rows"], rec["positives"], rec["small"]) == (row["rows"], row["positives"], row["rows"] < 200)
            for metric in (*RATE_COLUMNS, "precision", "base_rate", "calibration_gap"):
                if rec[metric] is None:  # undefined (e.g. TPR without positives) is recorded as None
                    assert np.isnan(row[metric]), (a, g, metric)
                else:
                    assert rec[metric] == pytest.approx(row[metric], abs=1e-12), (a, g, metric)
            assert rec["cost_per_1000"] == pytest.approx(cost(test[test[f"attr_{a}"] == g], pred, c_fp, c_fn))
            for metric in ("fpr", "cost_per_1000"):
                if rec[metric] is not None and rec[f"{metric}_lo"] is not None:
                    assert rec[f"{metric}_lo"] - 1e-12 <= rec[metric] <= rec[f"{metric}_hi"] + 1e-12
        assert got["(all)"]["cost_per_1000"] == pytest.approx(cost(test, pred, c_fp, c_fn))


@pytest.mark.parametrize("name", list(RUNS))
def test_every_options_cost_and_disparity_and_the_headline_intervals(runs, name: str) -> None:
    r, frame = runs[name].results, saved(runs[name])
    c_fp, c_fn = costs_of(RUNS[name]["case"])
    for part, recorded in [("validation", r["options_val"]), ("test", r["options_test"])]:
        rows = frame[frame["part"] == part]
        for option, got in recorded.items():
            assert got["cost_per_1000"] == pytest.approx(cost(rows, f"pred_{option}", c_fp, c_fn)), (part, option)
            assert got["disparity"] == pytest.approx(spread(rows, f"pred_{option}", r["rates"])), (part, option)
    test = frame[frame["part"] == "test"]
    chosen = f"pred_{r['mitigation']}"
    assert r["disparity_before"] == pytest.approx(spread(test, f"pred_{SINGLE}", r["rates"]))
    assert r["disparity_after"] == pytest.approx(spread(test, chosen, r["rates"]))
    assert r["mitigation_cost"] == pytest.approx(cost(test, chosen, c_fp, c_fn) - cost(test, f"pred_{SINGLE}", c_fp, c_fn))
    assert r["test_cost"] == pytest.approx(cost(test, chosen, c_fp, c_fn))
    assert r["test_cost_single"] == pytest.approx(cost(test, f"pred_{SINGLE}", c_fp, c_fn))
    for key in ("disparity_before", "disparity_after", "mitigation_cost", "test_cost", "disparity_unaware"):
        assert r[f"{key}_lo"] - 1e-12 <= r[key] <= r[f"{key}_hi"] + 1e-12, key
    assert r["disparity_unaware"] == pytest.approx(
        spread(test.assign(u=(test["score_unaware"] >= r["threshold_unaware"]).astype(int)), "u", r["rates"]))
    assert all(0.45 < auc <= 1 for auc in r["proxy_auc"].values())


@pytest.mark.parametrize("name", list(RUNS))
def test_per_group_thresholds_reproduce_their_decisions_and_meet_the_limit_on_validation(runs, name: str) -> None:
    r, frame = runs[name].results, saved(runs[name])
    thresholds = {g: (np.inf if t is None else t) for g, t in r["group_thresholds"].items()}
    assert sorted(thresholds) == sorted(r["compared_groups"])
    t = frame["group"].map(thresholds).fillna(r["threshold"]).to_numpy()
    assert np.array_equal(frame["pred_per-group thresholds"].to_numpy(), (frame["score"] >= t).astype(int))
    val = frame[frame["part"] == "validation"]
    assert spread(val, "pred_per-group thresholds", r["rates"]) <= r["disparity_limit"] + 1e-12
    for point in r["frontier"]:
        if point["limit"] is not None:
            assert point["disparity"] <= point["limit"] + 1e-12
    costs = [p["cost_per_1000"] for p in r["frontier"]]
    assert all(a >= b - 1e-9 for a, b in zip(costs, costs[1:])), "a looser limit never costs more"


@pytest.mark.parametrize("name", list(RUNS))
def test_the_choice_follows_the_rule_on_validation_numbers(runs, name: str) -> None:
    r = runs[name].results
    val, limit = r["options_val"], r["disparity_limit"]
    d0 = val[SINGLE]["disparity"]
    assert r["needs_mitigation"] == (d0 > limit and d0 > r["chance_disparity"])
    simplicity = list(val)  # recorded in order of simplicity
    if not r["needs_mitigation"]:
        assert r["mitigation"] == SINGLE
    else:
        within = {k: v for k, v in val.items() if k != SINGLE and v["disparity"] <= limit + 1e-12}
        if not within:
            assert r["mitigation"] == min(val, key=lambda k: val[k]["disparity"])
        else:
            cheapest = min(within, key=lambda k: within[k]["cost_per_1000"])
            assert r["mitigation"] in within
            assert simplicity.index(r["mitigation"]) <= simplicity.index(cheapest)
    d = r["decision"]
    assert r["attribute"] in d["choice"] and f"{limit:.3f}" in d["choice"]
    assert ("keep the single threshold" in d["choice"]) == (r["mitigation"] == SINGLE)


def test_the_decision_differs_where_the_evidence_does(runs) -> None:
    strict, loose, lending = runs["census"].results, runs["census_loose"].results, runs["lending"].results
    assert strict["options_val"][SINGLE] == loose["options_val"][SINGLE]
    assert strict["chance_disparity"] == loose["chance_disparity"]
    d0 = strict["options_val"][SINGLE]["disparity"]
    assert max(strict["chance_disparity"], 0.05) < d0 <= 0.2, "the census's validation disparity lies between the limits"
    assert strict["needs_mitigation"] and strict["mitigation"] != SINGLE
    assert not loose["needs_mitigation"] and loose["mitigation"] == SINGLE
    assert strict["criterion"] == "equalized_odds" and strict["rates"] == ["tpr", "fpr"]
    assert lending["criterion"] == "equal_opportunity" and lending["rates"] == ["fpr"], "good (the negative) is favourable"
    assert lending["mitigation"] == SINGLE and not lending["needs_mitigation"]


def test_the_criteria_conflict_as_the_base_rates_say(runs) -> None:
    r, frame = runs["census"].results, saved(runs["census"])
    test = frame[(frame["part"] == "test") & frame["compared"]]
    g = group_rates(test, f"pred_{SINGLE}")
    overall = group_rates(test.assign(all="all"), f"pred_{SINGLE}", "all").iloc[0]
    odds = g["base_rate"] / (1 - g["base_rate"])
    implied = odds * (1 - overall["precision"]) / overall["precision"] * overall["tpr"]
    assert r["base_rate_gap"] == pytest.approx(g["base_rate"].max() - g["base_rate"].min())
    assert r["implied_fpr_gap"] == pytest.approx(implied.max() - implied.min())
    assert r["observed_fpr_gap"] == pytest.approx(g["fpr"].max() - g["fpr"].min())
    crit = r["criteria"]
    assert crit["demographic parity: selection rate"][0] == pytest.approx(g["selection_rate"].max() - g["selection_rate"].min())
    assert crit["predictive parity: precision"][0] == pytest.approx(g["precision"].max() - g["precision"].min())


def test_census_disparities_by_survey_year(runs) -> None:
    r, frame = runs["census"].results, saved(runs["census"])
    by_period = {(p["part"], p["period"]): p for p in r["disparity_by_period"]}
    assert sorted(by_period) == [("test", "2017"), ("test", "2018"), ("validation", "2016")]
    for (part, period), got in by_period.items():
        rows = frame[(frame["part"] == part) & (frame["period"] == period)]
        assert got["rows"] == len(rows)
        assert got["single"] == pytest.approx(spread(rows, f"pred_{SINGLE}", r["rates"]))
        assert got["chosen"] == pytest.approx(spread(rows, f"pred_{r['mitigation']}", r["rates"]))
        base = rows[rows["compared"]].groupby("group")["y"].mean()
        assert got["base_rate_gap"] == pytest.approx(base.max() - base.min())
    last = by_period[("test", "2018")]
    verdict = ("within the limit" if last["chosen"] <= r["disparity_limit"] else
               "above the limit, but its interval reaches it" if last["chosen_lo"] <= r["disparity_limit"] else "above the limit")
    assert r["last_period_verdict"] == verdict


@pytest.mark.parametrize("name", ["census", "lending"])
def test_the_model_card_carries_the_recorded_numbers(runs, name: str) -> None:
    r = runs[name].results
    card = (runs[name].run.folder / "model_card.md").read_text()
    for text in [f"{r['test_cost']:,.1f} [{r['test_cost_lo']:,.1f}, {r['test_cost_hi']:,.1f}]",
                 f"{r['disparity_after']:.3f} [{r['disparity_after_lo']:.3f}, {r['disparity_after_hi']:.3f}]",
                 f"{r['mitigation_cost']:,.1f} [{r['mitigation_cost_lo']:,.1f}, {r['mitigation_cost_hi']:,.1f}]",
                 f"Mitigation: {r['mitigation']}.", r["decision"]["choice"], f"{r['n_test']:,} to judge"]:
        assert text in card, text
    if r["mitigation"] == "per-group thresholds":
        assert "Thresholds per group of" in card
        for g, t in r["group_thresholds"].items():
            assert f"{g}: {'no one flagged' if t is None else format(t, '.3f')}" in card


def test_choices_use_validation_rows_only(runs, permuted) -> None:
    base, shuffled = runs["census"].results, permuted.results
    for key in CHOICES:
        assert shuffled[key] == base[key], key
    assert [p["cost_per_1000"] for p in shuffled["frontier"]] == [p["cost_per_1000"] for p in base["frontier"]]
    assert shuffled["test_cost"] != base["test_cost"] and shuffled["disparity_before"] != base["disparity_before"]


def test_the_notebook_is_committed_clean_and_declares_what_it_needs() -> None:
    import json

    nb = json.loads((REPO / "notebooks" / "10_fairness.ipynb").read_text())
    assert nb["metadata"]["workbench"]["section"] == "fairness"
    assert nb["metadata"]["workbench"]["requires"] == ["sensitive"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    assert all(c["execution_count"] is None and not c["outputs"] for c in code)
    for case_id in ("census", "lending"):
        assert "10_fairness" in yaml.safe_load((REPO / "casestudies" / case_id / "case.yaml").read_text())["notebooks"]
    assert Path(REPO / "lib" / "workbench" / "fairness" / "fairlearn_adapter.py").is_file()
