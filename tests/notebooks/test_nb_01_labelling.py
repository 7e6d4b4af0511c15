"""Notebook 01_labelling: execute it with parameters and check what it recorded.

Expected values are recomputed here from the raw parquet files and the pool labels the notebook
saves (`pool_labels.parquet`), with pandas, numpy and scikit-learn rather than the workbench
library, so a bug in the library cannot confirm itself.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from tests.helpers import REPO, make_case
from tests.helpers import raw_case as shared_raw_case
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

RUNS = {  # name -> parameters
    "reviews": {"case": "reviews", "repeats": 6},  # defaults otherwise: the budget, noise and strategy under test
    "lending": {"case": "lending", "label_model": "majority", "noise_rate": 0.3, "max_pool_rows": 3000, "repeats": 1,
                "al_rounds": 4},
    "flights": {"case": "flights", "noise_kind": "class_conditional", "noise_rate": 0.3, "max_pool_rows": 2000,
                "hand_label_budget": 200, "repeats": 1, "al_rounds": 4},
}


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    spec, df, y = shared_raw_case(case_id)
    return spec, df, y.astype(int)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Each run's recorded results and its saved pool labels."""
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for name, params in RUNS.items():
        result = execute(plan_run("01_labelling", params, runs_dir=folder))
        assert result.ok, result.error
        out[name] = (result.results, pd.read_parquet(result.run.folder / "pool_labels.parquet"))
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_weak_label_accuracy_and_lf_coverage_match_a_recount_against_the_raw_labels(runs, name: str) -> None:
    r, pool = runs[name]
    _, df, y = raw_case(RUNS[name]["case"])
    truth = y[pool["row"].to_numpy()]
    labelled = pool["weak_label"].to_numpy() != -1
    assert r["weak_label_coverage"] == pytest.approx(labelled.mean(), rel=1e-12)
    assert r["weak_label_accuracy"] == pytest.approx((pool["weak_label"].to_numpy()[labelled] == truth[labelled]).mean(),
                                                     rel=1e-12)
    assert r["pool_positive_rate"] == pytest.approx(truth.mean(), rel=1e-12)
    votes = pool[[c for c in pool.columns if c.startswith("lf_")]]
    assert len(votes.columns) == r["lf_count"] == len(r["lf_summary"])
    assert r["lf_coverage"] == pytest.approx((votes != -1).any(axis=1).mean(), rel=1e-12)
    for lf, summary in r["lf_summary"].items():
        assert summary["coverage"] == pytest.approx((votes[f"lf_{lf}"] != -1).mean(), rel=1e-12)


def test_majority_vote_labels_are_the_majority_of_the_saved_votes(runs) -> None:
    r, pool = runs["lending"]
    assert r["label_model"] == "majority"
    votes = pool[[c for c in pool.columns if c.startswith("lf_")]].to_numpy()
    for row, label in zip(votes, pool["weak_label"]):
        pos, neg = int((row == 1).sum()), int((row == 0).sum())
        assert label == (1 if pos > neg else 0 if neg > pos else -1)


def test_the_pool_is_disjoint_from_the_test_rows_of_an_independent_split(runs) -> None:
    r, pool = runs["reviews"]
    _, df, y = raw_case("reviews")
    n = len(df)
    _, test = train_test_split(np.arange(n), test_size=math.ceil(0.25 * n), random_state=0, stratify=y)
    assert r["n_test"] == len(test) and r["n_pool"] == len(pool) == n - len(test) - r["n_dev"]
    assert not set(pool["row"]) & set(test)


@pytest.mark.parametrize("name", list(RUNS))
def test_injected_noise_changes_about_rate_of_the_labels_it_may_change(runs, name: str) -> None:
    r, pool = runs[name]
    _, _, y = raw_case(RUNS[name]["case"])
    truth = y[pool["row"].to_numpy()]
    changed = pool["noisy_label"].to_numpy() != truth
    assert r["noise_flipped_share"] == pytest.approx(changed.mean(), rel=1e-12)
    rate = r["noise_rate"]
    if r["noise_kind"] == "uniform":
        eligible = np.ones(len(truth), bool)
    else:
        assert r["noise_kind"] == "class_conditional" and not changed[truth == 0].any(), "only positives are missed"
        eligible = truth == 1
    share = changed[eligible].mean()
    assert abs(share - rate) < 4 * math.sqrt(rate * (1 - rate) / eligible.sum())


@pytest.mark.parametrize("name", ["reviews", "lending"])
def test_confident_learning_finds_the_flipped_labels_far_better_than_random_flags(runs, name: str) -> None:
    r, pool = runs[name]
    _, _, y = raw_case(RUNS[name]["case"])
    flipped = pool["noisy_label"].to_numpy() != y[pool["row"].to_numpy()]
    flagged = pool["flagged"].to_numpy()
    assert r["noise_found"] == flagged.sum() > 0
    assert r["noise_precision"] == pytest.approx(flipped[flagged].mean(), rel=1e-12)
    assert r["noise_recall"] == pytest.approx((flagged & flipped).sum() / flipped.sum(), rel=1e-12)
    # random flags would be right at the noise rate, and find the flagged share of the flips
    assert r["noise_precision"] > 2 * flipped.mean()
    assert r["noise_recall"] > flagged.mean() + 0.2


def test_active_learning_is_not_worse_than_random_at_the_default_budget_on_reviews(runs) -> None:
    r, _ = runs["reviews"]
    assert r["budget"] == 400 and r["al_strategy"] == "uncertainty"
    active, rand = np.array(r["active_quality_by_seed"]), np.array(r["random_quality_by_seed"])
    assert len(active) == len(rand) == RUNS["reviews"]["repeats"]
    assert r["active_quality"] == pytest.approx(active.mean()) and r["random_quality"] == pytest.approx(rand.mean())
    # the mean gain over seeds; 0.02 allows for the seed-to-seed spread of the difference (about 0.025 per seed)
    assert active.mean() >= rand.mean() - 0.02


def test_weak_supervision_gives_a_usable_classifier_without_hand_labels_and_noise_hurts(runs) -> None:
    r, _ = runs["reviews"]
    assert r["weak_quality"] > 0.75, "usable: far above chance (0.5)"
    assert r["weak_quality"] > r["random_quality"], "better than the budget's worth of noisy hand labels"
    sizes, quality = r["hand_label_sizes"], r["hand_label_quality"]
    assert sizes == sorted(sizes) and sizes[-1] == r["n_pool"]
    assert quality[-1] == pytest.approx(r["full_label_quality"])
    # the hand-label count that matches weak supervision, re-interpolated on a log scale
    i = next(k for k, q in enumerate(quality) if q >= r["weak_quality"])
    lo, hi = math.log(sizes[i - 1]), math.log(sizes[i])
    expected = math.exp(lo + (r["weak_quality"] - quality[i - 1]) / (quality[i] - quality[i - 1]) * (hi - lo))
    assert r["hand_labels_to_match"] == pytest.approx(expected) and r["hand_labels_to_match"] > r["budget"]
    for name in ("reviews", "lending"):
        assert runs[name][0]["noisy_quality"] < runs[name][0]["full_label_quality"], name


def test_label_delay_shrinks_the_recent_labelled_data_as_recounted_from_raw_times(runs) -> None:
    r, _ = runs["flights"]
    spec, df, _ = raw_case("flights")
    assert r["label_delay_days"] == spec["label_delay_days"] == 1
    times = df[spec["time_column"]]
    now = times.sort_values().iloc[len(df) - math.ceil(0.25 * len(df))]
    for window, name in ((1, "last 1 day"), (7, "last 7 days"), (30, "last 30 days")):
        recent = times[(times >= now - pd.Timedelta(days=window)) & (times < now)]
        expected = (recent + pd.Timedelta(days=1) <= now).mean()
        assert r["labelled_share_recent"][name] == pytest.approx(expected, rel=1e-12)
    shares = r["labelled_share_recent"]
    assert shares["last 1 day"] < shares["last 7 days"] < shares["last 30 days"] < 1
    for name in ("reviews", "lending"):  # no time column: the section is skipped
        assert runs[name][0]["label_delay_days"] is None and runs[name][0]["labelled_share_recent"] is None


@pytest.mark.parametrize("name", list(RUNS))
def test_the_decision_names_the_best_strategy_with_its_evidence(runs, name: str) -> None:
    r, _ = runs[name]
    options = {"random hand labels": r["random_quality"], "active learning": r["active_quality"],
               "weak supervision": r["weak_quality"]}
    best = max(options.values())
    assert any(r["strategy"].startswith(k) and v >= best - 0.005 for k, v in options.items())
    d = r["decision"]
    assert r["strategy"] in d["choice"] and len(d["evidence"]) >= 4 and d["would_change"]


def test_runs_unchanged_under_plain_papermill_with_the_same_results(runs, tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    args = [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "01_labelling.ipynb"), str(out), "--cwd", str(tmp_path)]
    for key, value in RUNS["lending"].items():
        args += ["-p", key, str(value)]
    env = {**os.environ, "WORKBENCH_RUNS": str(tmp_path / "runs")}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_records(read_notebook(out))
    assert json.loads(json.dumps(records)) == runs["lending"][0], "same parameters, same results"
    assert (tmp_path / "runs" / "interactive" / "pool_labels.parquet").is_file()


def test_runs_on_a_users_own_case_with_mined_rules_and_its_label_delay(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "cases" / "mine", n=3000, seed=1, notebooks=["01_labelling"], label_delay_days=2)
    result = execute(plan_run("01_labelling", {"case": str(folder), "repeats": 1, "al_rounds": 4},
                              runs_dir=tmp_path / "runs"))
    assert result.ok, result.error
    r = result.results
    assert r["lf_set"] == "mined" and r["lf_count"] > 0, "no hand-written rules for a new case: mined ones stand in"
    assert r["weak_quality"] > 0.6 and r["decision"]["choice"]
    df = pd.read_parquet(folder / "data.parquet")
    now = df["when"].sort_values().iloc[len(df) - math.ceil(0.25 * len(df))]
    recent = df["when"][(df["when"] >= now - pd.Timedelta(days=7)) & (df["when"] < now)]
    assert r["labelled_share_recent"]["last 7 days"] == pytest.approx((recent + pd.Timedelta(days=2) <= now).mean())
