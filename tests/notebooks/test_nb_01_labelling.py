"""Notebook 01_labelling: execute it with parameters and check what it recorded.

Expected values are recomputed here from the raw parquet files, the pool labels and the weak model's
scores the notebook saves (`pool_labels.parquet`, `weak_scores.parquet`), with pandas, numpy, scipy,
statsmodels and scikit-learn rather than the workbench library, so a bug in the library cannot
confirm itself.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from statsmodels.stats.proportion import proportion_confint

from tests.helpers import REPO, at_declared_minimum, make_case, shared_run
from tests.helpers import raw_case as shared_raw_case
from workbench.fileio import sha256_file
from workbench.runner.notebooks import read_notebook, read_records

pytestmark = pytest.mark.notebook

NOTEBOOK = "01_labelling"
SMALL = {"repeats": 2, "al_rounds": 4}
RUNS = {  # name -> parameters
    "reviews": {"case": "reviews"},  # defaults: the budget, noise, strategy and repeats under test
    "lending": {"case": "lending", "label_model": "majority", "noise_rate": 0.3, "max_pool_rows": 3000, **SMALL},
    "flights": {"case": "flights", "noise_kind": "class_conditional", "noise_rate": 0.3, "max_pool_rows": 2000,
                "hand_label_budget": 200, **SMALL},
    "census": {"case": "census", "max_pool_rows": 2000, **SMALL},
}
SIMPLEST_FIRST = ["random hand labels", "weak supervision", "active learning"]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    spec, df, y = shared_raw_case(case_id)
    return spec, df, y.astype(int)


def execute_run(params: dict, runs_dir: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    result = shared_run(NOTEBOOK, params)
    assert result.ok, result.error
    folder = result.run.folder
    return result.results, pd.read_parquet(folder / "pool_labels.parquet"), pd.read_parquet(folder / "weak_scores.parquet")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, pd.DataFrame, pd.DataFrame]]:
    """Each run's recorded results, its saved pool labels and the weak model's validation and test scores."""
    folder = tmp_path_factory.mktemp("runs")
    return {name: execute_run(params, folder) for name, params in RUNS.items()}


def t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and t interval over repeats, from scipy."""
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf((1 + level) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


@pytest.mark.parametrize("name", list(RUNS))
def test_weak_label_accuracy_and_lf_coverage_match_a_recount_against_the_raw_labels(runs, name: str) -> None:
    r, pool, _ = runs[name]
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
    r, pool, _ = runs["lending"]
    assert r["label_model"] == "majority"
    votes = pool[[c for c in pool.columns if c.startswith("lf_")]].to_numpy()
    for row, label in zip(votes, pool["weak_label"]):
        pos, neg = int((row == 1).sum()), int((row == 0).sum())
        assert label == (1 if pos > neg else 0 if neg > pos else -1)


@pytest.mark.parametrize("name", list(RUNS))
def test_pool_validation_and_test_rows_are_disjoint_and_test_is_an_independent_split(runs, name: str) -> None:
    r, pool, scores = runs[name]
    spec, df, y = raw_case(RUNS[name]["case"])
    n = len(df)
    val = scores.loc[scores["part"] == "validation", "row"].to_numpy()
    test = scores.loc[scores["part"] == "test", "row"].to_numpy()
    if spec.get("time_column"):
        times = df[spec["time_column"]].to_numpy()
        expected = np.flatnonzero(times >= np.sort(times)[n - math.ceil(0.25 * n)])
    else:
        _, expected = train_test_split(np.arange(n), test_size=math.ceil(0.25 * n), random_state=0, stratify=y)
    assert sorted(test) == sorted(expected) and r["n_test"] == len(test)
    n_train = n - len(test)
    assert r["n_val"] == len(val) == min(1000, n_train // 5), "auto: a fifth of the training rows, at most 1,000"
    assert r["n_dev"] == min(200, n_train // 10)
    rows = [set(pool["row"]), set(val), set(test)]
    assert not rows[0] & rows[1] and not rows[0] & rows[2] and not rows[1] & rows[2]


@pytest.mark.parametrize("name", list(RUNS))
def test_the_weak_models_scores_reproduce_its_validation_and_test_roc_auc(runs, name: str) -> None:
    r, _, scores = runs[name]
    _, _, y = raw_case(RUNS[name]["case"])
    for part, key in (("validation", "weak_val_quality"), ("test", "weak_quality")):
        s = scores[scores["part"] == part]
        assert r[key] == pytest.approx(roc_auc_score(y[s["row"].to_numpy()], s["weak_score"]), rel=1e-9), part


@pytest.mark.parametrize("name", list(RUNS))
def test_injected_noise_changes_about_rate_of_the_labels_it_may_change(runs, name: str) -> None:
    r, pool, _ = runs[name]
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
    r, pool, _ = runs[name]
    _, _, y = raw_case(RUNS[name]["case"])
    flipped = pool["noisy_label"].to_numpy() != y[pool["row"].to_numpy()]
    flagged = pool["flagged"].to_numpy()
    assert r["noise_found"] == flagged.sum() > 0
    assert r["noise_precision"] == pytest.approx(flipped[flagged].mean(), rel=1e-12)
    lo, hi = proportion_confint(int((flagged & flipped).sum()), int(flagged.sum()), alpha=0.1, method="wilson")
    assert (r["noise_precision_lo"], r["noise_precision_hi"]) == pytest.approx((lo, hi), rel=1e-9)
    assert r["confident_learning_pays"] == (lo > flipped.mean())
    assert r["noise_recall"] == pytest.approx((flagged & flipped).sum() / flipped.sum(), rel=1e-12)
    # random flags would be right at the noise rate, and find the flagged share of the flips
    assert r["noise_precision"] > 2 * flipped.mean()
    assert r["noise_recall"] > flagged.mean() + 0.2


@pytest.mark.parametrize("name", list(RUNS))
def test_the_strategy_is_the_simplest_not_distinguishable_from_the_best_on_validation(runs, name: str) -> None:
    r, _, _ = runs[name]
    level = 0.9
    active, rand = np.array(r["active_val_by_seed"]), np.array(r["random_val_by_seed"])
    repeats = RUNS[name].get("repeats", 5)
    assert len(active) == len(rand) == r["repeats"] == repeats
    options = {"random hand labels": rand, "weak supervision": np.full(repeats, r["weak_val_quality"]),
               "active learning": active}
    best = max(options, key=lambda k: options[k].mean())
    assert r["best_on_validation"] == best
    lows = {k: t_interval(options[best] - v, level)[1] if k != best else 0.0 for k, v in options.items()}
    expected = next(k for k in SIMPLEST_FIRST if k == best or lows[k] <= 0)
    assert r["strategy"] == expected
    assert (r["active_minus_random"], r["active_minus_random_lo"], r["active_minus_random_hi"]) == pytest.approx(
        t_interval(active - rand, level))
    test_active, test_rand = np.array(r["active_quality_by_seed"]), np.array(r["random_quality_by_seed"])
    assert (r["active_minus_random_test"], r["active_minus_random_test_lo"], r["active_minus_random_test_hi"]) == \
        pytest.approx(t_interval(test_active - test_rand, level))
    assert r["weak_minus_random"] == pytest.approx(r["weak_val_quality"] - rand.mean())
    d = r["decision"]
    assert d["choice"].split(" use ")[1].startswith(expected) and len(d["evidence"]) >= 5 and d["would_change"]


def test_weak_supervision_wins_at_the_default_budget_on_reviews_and_hand_labels_need_more(runs) -> None:
    r, _, _ = runs["reviews"]
    assert r["budget"] == 400 and r["al_strategy"] == "uncertainty" and r["n_pool"] == 5000 - 1250 - 750 - 200
    assert r["weak_val_quality"] > 0.75, "usable: far above chance (0.5)"
    sizes, quality = r["hand_label_sizes"], r["hand_label_val_quality"]
    assert sizes == sorted(sizes) and sizes[-1] == r["n_pool"]
    assert quality[-1] == pytest.approx(r["full_label_val_quality"])
    # the hand-label count that matches weak supervision, re-interpolated on a log scale from the validation curve
    i = next(k for k, q in enumerate(quality) if q >= r["weak_val_quality"])
    lo, hi = math.log(sizes[i - 1]), math.log(sizes[i])
    expected = math.exp(lo + (r["weak_val_quality"] - quality[i - 1]) / (quality[i] - quality[i - 1]) * (hi - lo))
    assert r["hand_labels_to_match"] == pytest.approx(expected) and r["hand_labels_to_match"] > r["budget"]
    for name in ("reviews", "lending"):
        assert runs[name][0]["noisy_quality"] < runs[name][0]["full_label_quality"], name


def test_a_budget_as_large_as_the_pool_moves_the_choice_to_hand_labels(runs, tmp_path: Path) -> None:
    small, _, _ = runs["reviews"]
    big, _, _ = execute_run({"case": "reviews", "hand_label_budget": 20000, "repeats": 3}, tmp_path)
    assert big["budget"] == big["n_pool"] == small["n_pool"], "the budget is capped at the pool"
    assert small["strategy"] == "weak supervision"
    assert big["strategy"] != "weak supervision", "every pool row hand-labelled beats the labelling functions"
    assert np.mean(big["random_val_by_seed"]) > big["weak_val_quality"] == small["weak_val_quality"]


@pytest.mark.parametrize("name", ["flights", "census"])
def test_labels_known_at_prediction_time_are_recounted_from_raw_times(runs, name: str) -> None:
    r, _, _ = runs[name]
    spec, df, _ = raw_case(name)
    lead, delay = spec.get("prediction_lead_days") or 0, spec["label_delay_days"]
    assert (r["prediction_lead_days"], r["label_delay_days"]) == (lead, delay)
    times = pd.to_datetime(df[spec["time_column"]])
    now = times.sort_values().iloc[len(df) - math.ceil(0.25 * len(df))]
    for window, share in r["labelled_share_recent"].items():
        days = float(window.split()[1])
        recent = times[(times >= now - pd.Timedelta(days=days)) & (times < now)]
        made = now - pd.Timedelta(days=lead)
        assert share == pytest.approx(((recent < made) & (recent + pd.Timedelta(days=delay) <= made)).mean(), rel=1e-12)
        at_event = (recent + pd.Timedelta(days=delay) <= now).mean()
        assert r["labelled_share_recent_at_event"][window] == pytest.approx(at_event, rel=1e-12)
    if name == "flights":
        assert lead == 21 and set(r["labelled_share_recent"]) == {"last 1 day", "last 7 days", "last 30 days", "last 90 days"}
        assert r["labelled_share_recent"]["last 7 days"] == 0 < r["labelled_share_recent_at_event"]["last 7 days"]
    else:
        assert set(r["labelled_share_recent"]) == {"last 365 days", "last 730 days", "last 1095 days"}, "survey years"
    for other in ("reviews", "lending"):  # no time column: the section is skipped
        assert runs[other][0]["label_delay_days"] is None and runs[other][0]["labelled_share_recent"] is None


def test_test_labels_play_no_part_in_the_choice(runs, tmp_path: Path) -> None:
    r, _, _ = runs["flights"]
    spec, df, _ = shared_raw_case("flights")
    times = df[spec["time_column"]].to_numpy()
    test = times >= np.sort(times)[len(df) - math.ceil(0.25 * len(df))]
    df = df.copy()
    df.loc[test, spec["target"]] = np.random.default_rng(3).permutation(df.loc[test, spec["target"]].to_numpy())
    folder = tmp_path / "cases" / "flights_permuted"
    folder.mkdir(parents=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec = {**spec, "id": folder.name, "data": "data.parquet", "sha256": sha256_file(folder / "data.parquet")}
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copy(REPO / "casestudies" / "flights" / "labelling.py", folder)  # the same expert rules
    permuted, _, _ = execute_run({**RUNS["flights"], "case": str(folder)}, tmp_path / "runs")
    judged = {"full_label_quality", "weak_quality", "noisy_quality", "cleaned_quality",
              "active_quality", "random_quality", "active_quality_by_seed", "random_quality_by_seed", "decision"}
    judged |= {f"{k}{s}" for k in ("active_minus_random_test", "weak_minus_random_test") for s in ("", "_lo", "_hi")}
    assert set(permuted) == set(r)
    for key in set(r) - judged:
        assert permuted[key] == r[key], key
    assert permuted["decision"]["choice"].split(", test ")[0] == r["decision"]["choice"].split(", test ")[0]
    assert permuted["weak_quality"] != r["weak_quality"], "the test labels did change"


def test_runs_with_defaults_on_a_case_at_the_declared_minimum(tmp_path: Path) -> None:
    x, positive = at_declared_minimum(NOTEBOOK, seed=4)
    colour = np.random.default_rng(4).choice(["red", "green"], len(x))
    df = pd.DataFrame({"id": np.arange(len(x)), "x": x, "colour": colour, "label": np.where(positive, "yes", "no")})
    folder = make_case(tmp_path / "cases" / "minimum", n=10, notebooks=[NOTEBOOK])
    df.to_parquet(folder / "data.parquet", index=False)
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec.update(sha256=sha256_file(folder / "data.parquet"), time_column=None, slices=[])
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    r, _, _ = execute_run({"case": str(folder)}, tmp_path / "runs")
    assert r["strategy"] in SIMPLEST_FIRST and r["decision"]["choice"]


def test_runs_unchanged_under_plain_papermill_with_the_same_results(runs, tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    args = [sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{NOTEBOOK}.ipynb"), str(out), "--cwd", str(tmp_path)]
    for key, value in RUNS["lending"].items():
        args += ["-p", key, str(value)]
    env = {**os.environ, "WORKBENCH_RUNS": str(tmp_path / "runs")}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_records(read_notebook(out))
    assert json.loads(json.dumps(records)) == runs["lending"][0], "same parameters, same results"
    assert (tmp_path / "runs" / "interactive" / "pool_labels.parquet").is_file()


def test_runs_on_a_users_own_case_with_mined_rules_and_its_label_delay(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "cases" / "mine", n=3000, seed=1, notebooks=[NOTEBOOK], label_delay_days=2)
    r, _, _ = execute_run({"case": str(folder), **SMALL}, tmp_path / "runs")
    assert r["lf_set"] == "mined" and r["lf_count"] > 0, "no hand-written rules for a new case: mined ones stand in"
    assert r["weak_val_quality"] > 0.6 and r["decision"]["choice"]
    assert r["prediction_lead_days"] == 0, "a case without prediction_lead_days predicts at the event"
    df = pd.read_parquet(folder / "data.parquet")
    now = df["when"].sort_values().iloc[len(df) - math.ceil(0.25 * len(df))]
    recent = df["when"][(df["when"] >= now - pd.Timedelta(days=7)) & (df["when"] < now)]
    assert r["labelled_share_recent"]["last 7 days"] == pytest.approx((recent + pd.Timedelta(days=2) <= now).mean())
