"""Notebook 09_experiments: execute it on each supported case and check what it recorded.

Click rates, the off-policy IPW and SNIPW estimates, sample sizes and costs are recomputed here from
the raw parquet files (pandas, scipy, statsmodels) or from the decisions the notebook saved, not
through the workbench library, so a bug in the experiments toolkit cannot confirm itself.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm
from statsmodels.stats.proportion import proportion_confint

from tests.helpers import REPO, edit_yaml, raw_case, shared_run
from workbench.fileio import sha256_file
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = "09_experiments"
CASES = ("bandit", "flights", "lending")
ALPHA, POWER, MIN_EFFECT, MIN_DAYS = 0.05, 0.8, 0.1, 7  # the notebook's defaults
Z = norm.ppf(1 - ALPHA / 2) + norm.ppf(POWER)


@pytest.fixture(scope="module")
def runs09(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """Each supported case with the notebook's defaults: (recorded results, run folder)."""
    out = {}
    for case_id in CASES:
        result = shared_run(NOTEBOOK, {"case": case_id})
        assert result.ok, result.error
        out[case_id] = (result.results, result.run.folder)
    return out


def copied_case(case_id: str, tmp: Path, change) -> Path:
    """A copy of a bundled case whose data `change` edits in place (sha256 updated)."""
    folder = tmp / "cases" / case_id
    shutil.copytree(REPO / "casestudies" / case_id, folder)
    spec, df, _ = raw_case(case_id)
    change(df)
    df.to_parquet(folder / spec["data"], index=False)
    edit_yaml(folder, sha256=sha256_file(folder / spec["data"]))
    return folder


def flights_test_rows(df: pd.DataFrame, time_column: str) -> np.ndarray:
    """The latest quarter of rows by time (rows at the cut-off time all go to test)."""
    n_test = math.ceil(0.25 * len(df))
    times = df[time_column].to_numpy()
    return times >= np.sort(times)[len(df) - n_test]


# --- bandit: logged interactions ---------------------------------------------------------------------

def test_click_rates_and_the_a_b_size_match_an_independent_recomputation(runs09) -> None:
    r, _ = runs09["bandit"]
    spec, df, _ = raw_case("bandit")
    random, bts = df[df["policy"] == "random"], df[df["policy"] == "bts"]
    assert r["task"] == "interactions" and r["n_rows"] == len(df) == 60_000
    assert r["p_control"] == pytest.approx(random["click"].mean(), rel=1e-12)
    for campaign in ("all", "men", "women"):
        clicks = int(bts.loc[bts["campaign"] == campaign, "click"].sum())
        lo, hi = proportion_confint(clicks, 10_000, alpha=0.1, method="wilson")
        assert r[f"on_policy_{campaign}"] == pytest.approx(clicks / 10_000)
        assert (r[f"on_policy_{campaign}_lo"], r[f"on_policy_{campaign}_hi"]) == pytest.approx((lo, hi), abs=1e-9)
        assert r[f"uniform_rate_{campaign}"] == pytest.approx(random.loc[random["campaign"] == campaign, "click"].mean())
    p1, p2 = r["p_control"], r["p_control"] * (1 + MIN_EFFECT)
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    assert abs(r["n_per_arm"] - math.ceil(2 * Z**2 / h**2)) <= 1, "the textbook formula, up to solver rounding"
    traffic = spec["interactions"]["traffic_per_day"]
    assert r["traffic_per_day"] == traffic and "traffic_per_day" in r["traffic_source"]
    assert r["ab_days_at_traffic"] == max(1, math.ceil(2 * r["n_per_arm"] / traffic))
    assert r["ab_days"] == max(r["ab_days_at_traffic"], MIN_DAYS)
    h_week = Z * math.sqrt(2 / (7 * traffic / 2))
    expected = math.sin(math.asin(math.sqrt(p1)) + h_week / 2) ** 2 / p1 - 1
    assert r["week_detectable"] == pytest.approx(expected, rel=5e-3), "statsmodels solves for the effect numerically"


def test_the_off_policy_estimates_equal_a_pandas_recomputation(runs09) -> None:
    r, _ = runs09["bandit"]
    _, df, _ = raw_case("bandit")
    for campaign in ("all", "men", "women"):
        part = df[df["campaign"] == campaign]
        bts, random = part[part["policy"] == "bts"], part[part["policy"] == "random"]
        # the Thompson policy's measured chance of showing each item in each slot
        shown = pd.crosstab(bts["item_id"], bts["position"])
        target = shown / shown.sum(axis=0)
        pi = np.array([target.at[a, k] if a in target.index else 0.0
                       for a, k in zip(random["item_id"], random["position"])])
        w = pi / random["propensity"].to_numpy()
        y = random["click"].to_numpy()
        assert r[f"ope_{campaign}_ipw"] == pytest.approx(np.mean(w * y), rel=1e-9)
        assert r[f"ope_{campaign}_snipw"] == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-9)
        for name in ("ipw", "snipw", "dr", "dm"):
            assert r[f"ope_{campaign}_{name}_lo"] <= r[f"ope_{campaign}_{name}"] <= r[f"ope_{campaign}_{name}_hi"]
    assert r["true_lift"] == pytest.approx(df.loc[df["policy"] == "bts", "click"].mean()
                                           / df.loc[df["policy"] == "random", "click"].mean() - 1)
    assert r["trusted_estimator"] in ("IPW", "SNIPW", "DR")
    trusted = r["trusted_estimator"].lower()
    covers = sum(r[f"ope_{c}_{trusted}_lo"] <= r[f"on_policy_{c}"] <= r[f"ope_{c}_{trusted}_hi"] for c in ("all", "men", "women"))
    assert r["trusted_covers"] == covers
    assert r["ope_gate"] == (r["ope_lift_lo"] > -MIN_EFFECT)
    assert r["ope_enough"] == (r["ope_lift_lo"] > 0 and r["ope_lift_hi"] - r["ope_lift_lo"] < MIN_EFFECT)


def test_peeking_breaks_alpha_on_the_real_logs_and_the_chosen_rule_holds_it(runs09) -> None:
    r, _ = runs09["bandit"]
    assert r["aa_rows"] == 60_000
    assert r["aa_fpr_peeking_lo"] > 0.15, "20 looks at p < 0.05 stop an A/A test far more often than 5%"
    for rule in ("fixed", "group_sequential"):
        assert r[f"aa_fpr_{rule}_lo"] <= ALPHA + 0.01 and r[f"aa_fpr_{rule}_hi"] >= ALPHA - 0.02, rule
        assert binomtest(round(r[f"design_fpr_{rule}"] * 2000), 2000, ALPHA).pvalue > 0.001, rule
    assert r["aa_fpr_msprt_hi"] <= ALPHA + 0.01
    assert r["stop_rule"] in ("fixed", "group_sequential", "msprt")
    assert r["design_power_fixed"] == pytest.approx(POWER, abs=0.04), "the planned size has its power"
    # the recorded boundaries spend alpha: simulate the z path at 20 equally spaced looks (numpy, not the library)
    bounds = np.array([np.inf if b is None else b for b in r["boundaries"]])
    t = np.arange(1, 21) / 20
    rng = np.random.default_rng(0)
    z = np.cumsum(rng.normal(size=(100_000, 20)) * np.sqrt(np.diff(np.r_[0, t])), axis=1) / np.sqrt(t)
    assert np.mean((np.abs(z) >= bounds).any(axis=1)) == pytest.approx(ALPHA, abs=0.004)


def test_interleaving_and_bandit_records_are_consistent_with_the_logs(runs09) -> None:
    r, _ = runs09["bandit"]
    _, df, _ = raw_case("bandit")
    ratios = []
    for campaign in ("all", "men", "women"):
        ab, il = r[f"sessions_ab_{campaign}"], r[f"sessions_interleaving_{campaign}"]
        assert ab is None or ab > 0
        ratios.append(0.0 if il is None else ab / il)
    assert r["median_ratio_ab_to_interleaving"] == pytest.approx(float(np.median(ratios)))
    assert r["bandit_rows"] == 60_000
    gap = abs(df.loc[df["policy"] == "bts", "click"].mean() - df.loc[df["policy"] == "random", "click"].mean())
    assert r["share_to_better_uniform"] == pytest.approx(0.5, abs=0.02)
    assert r["lost_per_1000_uniform"] == pytest.approx(1000 * gap / 2, rel=0.1), "a 50/50 split loses half the gap"
    for policy in ("uniform", "epsilon_greedy", "ucb", "thompson"):
        assert r[f"lost_per_1000_{policy}_lo"] <= r[f"lost_per_1000_{policy}"] <= r[f"lost_per_1000_{policy}_hi"]
    assert r["share_to_better_thompson"] > 0.7, "Thompson sampling moves traffic to the better policy"


def test_the_bandit_plan_states_the_recorded_numbers(runs09) -> None:
    r, _ = runs09["bandit"]
    d = r["decision"]
    assert f"{r['n_per_arm']:,} users per arm" in d["choice"] and f"({r['ab_days']:,} days)" in d["choice"]
    assert r["trusted_estimator"] in d["choice"]
    rule = {"fixed": "one test at the end", "group_sequential": "group-sequential", "msprt": "mSPRT"}[r["stop_rule"]]
    assert rule in d["choice"]
    best = r["best_bandit"]
    use_bandit = r[f"saved_per_1000_{best}_lo"] > 0 and r[f"p_best_{best}"] >= r["p_best_uniform"] - 0.05
    assert (f"traffic allocated by {best}" in d["choice"]) == use_bandit
    assert ("a fixed 50/50 split" in d["choice"]) == (not use_bandit)
    assert len(d["evidence"]) >= 4 and d["would_change"]


def test_the_off_policy_choice_ignores_the_candidate_s_own_clicks(runs09, tmp_path: Path) -> None:
    """Wiping the Thompson policy's clicks (the ground truth the estimators are judged on) changes the
    truth, not the estimates or the estimator chosen: they come from the uniform policy's logs alone."""
    r, _ = runs09["bandit"]

    def wipe(df: pd.DataFrame) -> None:
        df.loc[df["policy"] == "bts", "click"] = 0

    folder = copied_case("bandit", tmp_path, wipe)
    result = execute(plan_run(NOTEBOOK, {"case": str(folder), "n_sim": 200, "replay_boot": 20},
                              runs_dir=tmp_path / "runs"))
    assert result.ok, result.error
    wiped = result.results
    assert wiped["on_policy_men"] == 0 and r["on_policy_men"] > 0
    assert wiped["trusted_estimator"] == r["trusted_estimator"]
    for key in ("ope_all_ipw", "ope_men_dr", "ope_women_snipw", "ope_lift", "ope_lift_lo", "ope_lift_hi", "n_per_arm"):
        assert wiped[key] == pytest.approx(r[key], rel=1e-12), key
    assert wiped["trusted_covers"] < r["trusted_covers"] or r["trusted_covers"] == 0


# --- binary cases: shadow, canary and sizing ---------------------------------------------------------

@pytest.mark.parametrize("case_id", ["flights", "lending"])
def test_saved_decisions_reproduce_the_recorded_costs_and_shadow_figures(runs09, case_id: str) -> None:
    r, folder = runs09[case_id]
    spec, df, y = raw_case(case_id)
    dec = pd.read_parquet(folder / "decisions.parquet")
    assert np.array_equal(dec["label"].to_numpy().astype(bool), y[df.index.get_indexer(dec["row"])])
    if spec.get("time_column"):
        assert set(dec["row"]) == set(df.index[flights_test_rows(df, spec["time_column"])])
    else:
        assert len(dec) == math.ceil(0.25 * len(df))
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    lab = dec["label"].astype(bool)
    for k in ("current", "candidate", "worse"):
        flag = dec[f"flag_{k}"].astype(bool)
        cost = np.where(flag & ~lab, c_fp, 0.0) + np.where(~flag & lab, c_fn, 0.0)
        np.testing.assert_array_equal(cost, dec[f"cost_{k}"])
        assert r[f"test_cost_per_1000_{k}"] == pytest.approx(1000 * cost.mean())
    lag = round((spec.get("prediction_lead_days") or 0) + (spec.get("label_delay_days") or 0))
    assert r["label_lag_days"] == lag
    assert (dec["day_known"] - dec["day_decided"] == lag).all()
    week = dec["day_known"] <= lag + 6
    for k in ("candidate", "worse"):
        assert r[f"shadow_disagreement_{k}"] == pytest.approx(np.mean(dec[f"flag_{k}"] != dec["flag_current"]))
        diff = 1000 * (dec.loc[week, f"cost_{k}"] - dec.loc[week, "cost_current"]).mean()
        assert r[f"shadow_week1_diff_{k}"] == pytest.approx(diff)
        assert r[f"shadow_week1_diff_{k}_lo"] <= diff <= r[f"shadow_week1_diff_{k}_hi"]
    assert r["test_cost_per_1000_worse"] > r["test_cost_per_1000_current"], "the deliberately worse candidate is worse"
    assert r["canary_stopped_current"] <= ALPHA, "an A/A canary is stopped at most alpha of the time"


@pytest.mark.parametrize("case_id", ["flights", "lending"])
def test_the_a_b_size_follows_from_the_validation_cost_and_its_spread(runs09, case_id: str) -> None:
    r, _ = runs09[case_id]
    mean, sd = r["cost_per_1000_validation"] / 1000, r["cost_sd_validation"]
    assert abs(r["n_per_arm"] - math.ceil(2 * Z**2 * sd**2 / (MIN_EFFECT * mean) ** 2)) <= 1
    assert r["ab_days"] == max(MIN_DAYS, math.ceil(2 * r["n_per_arm"] / r["traffic_per_day"]))
    assert r["offline_pass"] == (r["offline_diff_per_1000_hi"] < 0)


def test_flights_and_lending_differ_in_what_a_canary_can_do_and_their_plans_say_so(runs09) -> None:
    flights, _ = runs09["flights"]
    lending, _ = runs09["lending"]
    assert flights["label_lag_days"] == 22 and lending["label_lag_days"] == 1095
    assert flights["canary_stopped_worse"] >= 0.8 > lending["canary_stopped_worse"]
    assert flights["canary_median_days_worse"] > flights["label_lag_days"], "no stop before the first labels"
    assert "a 5% canary with the mSPRT guardrail" in flights["decision"]["choice"]
    assert "no reliance on a 5% canary" in lending["decision"]["choice"]
    assert "label-free signals" in lending["decision"]["choice"] and "label-free" not in flights["decision"]["choice"]


def test_the_flights_plan_ignores_permuted_test_labels_where_it_chooses(runs09, tmp_path: Path) -> None:
    """Thresholds, the offline gate and the A/B size come from training and validation rows: permuting the
    test rows' labels leaves them as they were, and changes only what the test rows judge."""
    r, _ = runs09["flights"]

    def permute(df: pd.DataFrame) -> None:
        test = flights_test_rows(df, "sched_dep")
        df.loc[test, "delayed"] = np.random.default_rng(0).permutation(df.loc[test, "delayed"].to_numpy())

    folder = copied_case("flights", tmp_path, permute)
    result = execute(plan_run(NOTEBOOK, {"case": str(folder), "n_sim": 200}, runs_dir=tmp_path / "runs"))
    assert result.ok, result.error
    p = result.results
    for key in ("thresholds", "n_per_arm", "ab_days", "offline_diff_per_1000", "cost_per_1000_validation"):
        assert p[key] == r[key], key
    assert p["test_cost_per_1000_current"] != r["test_cost_per_1000_current"]


def test_the_notebook_is_committed_clean_and_declares_both_tasks() -> None:
    nb = json.loads((REPO / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    assert nb["metadata"]["workbench"]["tasks"] == ["interactions", "binary"]
    assert nb["metadata"]["workbench"]["section"] == "experiments"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    for c in code:
        assert c["execution_count"] is None and not c["outputs"]
