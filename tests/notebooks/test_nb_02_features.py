"""Notebook 02_features: execute it with parameters and check what it recorded.

Rows, splits, one-feature scores, training twins, coverage, duplicates and the statistics-on-all-rows
gap are recomputed here from the raw parquet files with numpy, pandas and scikit-learn, not through
the workbench library. Models that a check needs are rebuilt with `workbench.boosting.pipeline` on
independently recomputed rows (the model is not what these tests check; the rows, the features,
the importances and the decisions are).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler, TargetEncoder

from tests.helpers import REPO, shared_run, write_case
from workbench.cases import load_case
from workbench.modelling import boosting
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.params import declared_parameters
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = REPO / "notebooks" / "02_features.ipynb"
DEFAULTS = {name: p.default for name, p in declared_parameters(NOTEBOOK).items()}
CAP = {"flights": 20000, "lending": 20000, "reviews": 4000}  # max_train_rows = "auto": 20,000, text cases 4,000
RUNS = {  # name -> parameters
    "flights": {"case": "flights"},  # the defaults
    "flights_random_leaky": {"case": "flights", "split": "random", "include_leaky": True},
    "lending": {"case": "lending", "seed": 1},
    "reviews": {"case": "reviews"},
}


def altered_flights(folder: Path) -> Path:
    """flights with its test rows altered: labels shuffled among them, and `month` moved 3 months back
    (into months training has seen). The split is by time, which neither change touches."""
    spec, df, _ = raw("flights")
    test = time_split(df["sched_dep"].to_numpy(), 0.25)[1]
    rng = np.random.default_rng(7)
    df.loc[test, "delayed"] = rng.permutation(df.loc[test, "delayed"].to_numpy())
    df.loc[test, "month"] = df.loc[test, "month"] - 3
    return write_case(folder, spec, df)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    altered = altered_flights(tmp_path_factory.mktemp("cases") / "flights_altered")
    out = {}
    for name, params in {**RUNS, "flights_altered": {"case": str(altered)}}.items():
        result = shared_run("02_features", params)
        assert result.ok, result.error
        out[name] = result.results
    return out


def raw(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy().astype(int)


def time_split(times: np.ndarray, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    """The latest ceil(test_size * n) rows (and every row sharing the cut-off time) are held out."""
    n_test = math.ceil(test_size * len(times))
    test = times >= np.sort(times)[len(times) - n_test]
    return np.flatnonzero(~test), np.flatnonzero(test)


def random_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    train, test = train_test_split(np.arange(len(y)), test_size=math.ceil(test_size * len(y)),
                                   random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


def cap(rows: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """The documented draw: max_rows of rows without replacement by numpy's default_rng(seed), in row order."""
    if not max_rows or len(rows) <= max_rows:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=max_rows, replace=False))


def rows(case_id: str, kind: str, params: dict) -> dict[str, np.ndarray]:
    """The training period, train (capped), test, and the fit / validation parts of train, as row positions."""
    p = {**DEFAULTS, **params}
    spec, df, y = raw(case_id)
    if kind == "time":
        period, test = time_split(df[spec["time_column"]].to_numpy(), p["test_size"])
    else:
        period, test = random_split(y, p["test_size"], p["seed"])
    train = cap(period, CAP[case_id], p["seed"])
    if kind == "time":
        fit, valid = time_split(df[spec["time_column"]].to_numpy()[train], 0.2)
    else:
        fit, valid = random_split(y[train], 0.2, p["seed"])
    return {"period": period, "train": train, "test": test, "fit": train[fit], "valid": train[valid]}


def holdout(case_id: str, kind: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The time or random hold-out inside the training period: (fit part, held-out part)."""
    p = {**DEFAULTS, **params}
    spec, df, y = raw(case_id)
    s = rows(case_id, "time" if spec.get("time_column") and p["split"] != "random" else "random", params)
    period = s["period"]
    if kind == "time":  # the fit rows, and the period's rows from the first validation time on
        times = df[spec["time_column"]].to_numpy()
        return s["fit"], cap(period[times[period] >= times[s["valid"]].min()], CAP[case_id] // 2, p["seed"])
    a, b = random_split(y[period], 0.2, p["seed"])
    return cap(period[a], len(s["fit"]), p["seed"]), cap(period[b], CAP[case_id] // 2, p["seed"])


def twin_share(df: pd.DataFrame, train: np.ndarray, test: np.ndarray, columns: list[str]) -> float:
    seen = df.iloc[train][columns].drop_duplicates()
    merged = df.iloc[test][columns].merge(seen, how="left", on=columns, indicator=True)
    return float((merged["_merge"] == "both").mean())


def test_flights_rows_and_twins_on_the_admissible_features_are_recomputed(results) -> None:
    r = results["flights"]
    spec, df, y = raw("flights")
    got = rows("flights", "time", RUNS["flights"])
    assert r["split_kind"] == "time" and r["n_rows"] == len(df) and r["max_train_rows"] == 20000
    assert (r["n_fit"], r["n_valid"], r["n_test"]) == (len(got["fit"]), len(got["valid"]), len(got["test"]))
    honest = [c for c in spec["features"] if c not in spec["leaky"]]
    assert r["candidates"] == honest and r["admissible"] == [c for c in honest if c != "month"]
    for kind in ("time", "random"):
        fit, out = holdout("flights", kind, RUNS["flights"])
        assert r["twin_share"][kind] == pytest.approx(twin_share(df, fit, out, r["admissible"]), abs=1e-12), kind
        assert r["twin_share_with_refused"][kind] == pytest.approx(twin_share(df, fit, out, honest), abs=1e-12), kind
    # what the numbers show: on the admissible features twins are common under both splits, so they
    # cannot explain a gap between them; only counting `month` (which later rows never share with
    # training) makes the time split's twins rare
    twins, with_month = r["twin_share"], r["twin_share_with_refused"]
    assert min(twins["time"], twins["random"]) > 0.5 and abs(twins["random"] - twins["time"]) < 0.15
    assert with_month["time"] < 0.1 < with_month["random"]


def test_flights_split_differences_and_the_time_holdout_score_are_recomputed(results) -> None:
    r = results["flights"]
    auc = r["split_auc"]
    for name, a, b in (("split_gap", "random", "time"), ("shared_day_leak", "random", "days held out"),
                       ("drift", "days held out", "time"), ("entity_leak_tailnum", "random", "tailnum held out"),
                       ("entity_leak_flight", "random", "flight held out")):
        assert r[name] == pytest.approx(auc[a] - auc[b], abs=1e-12), name
        assert r[f"{name}_hi"] - r[f"{name}_lo"] > 0.005, "a day-clustered interval of a split difference is not a point"
    assert r["split_gap"] == pytest.approx(r["shared_day_leak"] + r["drift"], abs=1e-12)
    assert set(r["entities"]) == {"tailnum", "flight"}
    group = [c for c in r["entities"] if r[f"entity_leak_{c}_lo"] > 0]
    assert ("holds out whole" in r["decision"]["choice"]) == bool(group)
    case = load_case("flights")
    _, df, y = raw("flights")
    fit, out = holdout("flights", "time", RUNS["flights"])
    model = boosting.pipeline(case, columns=r["admissible"], seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
    model.fit(df.iloc[fit], y[fit])
    assert auc["time"] == pytest.approx(roc_auc_score(y[out], model.predict_proba(df.iloc[out])[:, 1]), rel=1e-9)


def test_flights_month_is_refused_on_validation_rows_and_the_test_rows_confirm_it(results) -> None:
    r = results["flights"]
    _, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    month = df["month"].to_numpy()

    def beyond(seen, new):
        return np.mean((month[new] > month[seen].max()) | (month[new] < month[seen].min()))

    assert r["unseen_share"]["month"] == pytest.approx(beyond(s["fit"], s["valid"]), abs=1e-12)
    assert r["unseen_share_test"]["month"] == pytest.approx(beyond(s["train"], s["test"]), abs=1e-12)
    assert r["unseen_share"]["month"] > DEFAULTS["max_unseen"] and r["unseen_share_test"]["month"] > DEFAULTS["max_unseen"]
    assert r["refused_coverage"] == ["month"] and "month" not in r["chosen_features"]
    assert r["coverage_refusal_effect"] == pytest.approx(r["auc_all"] - r["auc_no_coverage_refusals"], abs=1e-12)
    assert r["coverage_refusal_effect_lo"] > 0, "dropping month helps on later months, beyond the interval"


def test_the_decision_uses_no_test_rows(results) -> None:
    """flights with its test labels shuffled and its test months moved into months training saw: every
    choice is the same (it was made on training and validation rows); only the test scores change."""
    r, altered = results["flights"], results["flights_altered"]
    for key in ("refused_leaks", "suspects", "refused_coverage", "admissible", "top_features", "ship_top_k",
                "chosen_features", "unseen_share", "entities", "duplicates_in_training", "split_auc",
                "top_k_loss_valid", "top_k_loss_valid_lo", "top_k_loss_valid_hi"):
        assert altered[key] == r[key], key
    assert altered["decision"]["choice"] == r["decision"]["choice"]
    assert altered["unseen_share_test"]["month"] < 0.1 < r["unseen_share_test"]["month"], "the test rows did change"
    assert abs(altered["auc_all"] - 0.5) < 0.02 < r["auc_all"] - 0.5, "shuffled test labels: chance on the test rows"


def test_a_random_split_admits_month_because_validation_rows_share_its_values(results) -> None:
    """The same case and features, different evidence: under a random split the validation months are all
    months the fit rows have, so month is not refused; under the time split it is."""
    by_time, by_random = results["flights"], results["flights_random_leaky"]
    for r in (by_time, by_random):
        assert ("month" in r["refused_coverage"]) == (r["unseen_share"]["month"] > DEFAULTS["max_unseen"])
    assert "month" in by_time["refused_coverage"] and "month" not in by_random["refused_coverage"]
    assert "month" in by_random["admissible"] and "month" not in by_time["admissible"]


def test_flights_declared_leak_is_flagged_and_refused(results) -> None:
    r = results["flights_random_leaky"]
    spec, df, y = raw("flights")
    assert spec["leaky"] == ["dep_delay"] and "dep_delay" in r["candidates"] and r["split_kind"] == "random"
    assert "dep_delay" in r["flagged_leaks"] and "dep_delay" in r["refused_leaks"]
    assert r["suspects"] == [], "a declared leak is refused, not merely suspected"
    valid = rows("flights", "random", RUNS["flights_random_leaky"])["valid"]
    raw_auc = roc_auc_score(y[valid], df["dep_delay"].to_numpy()[valid])
    alone = r["one_feature_auc"]
    assert raw_auc > 0.85 and alone["dep_delay"] == pytest.approx(raw_auc, abs=0.02)
    assert alone["dep_delay"] - max(v for k, v in alone.items() if k != "dep_delay") > 0.15
    assert "dep_delay" not in r["chosen_features"] and "dep_delay" in r["decision"]["choice"]
    d = results["flights"]
    assert d["declared_leak_inflation"] == pytest.approx(d["auc_with_declared_leaks"] - d["auc_without_declared_leaks"])
    assert d["declared_leak_inflation_lo"] > 0.1 and d["declared_leak_gain_share"] > 0.5


def test_the_statistics_gap_is_recomputed_with_scikit_learn_and_reads_test_labels_only(results) -> None:
    """Both arms encode training rows out of fold; only the shortcut's statistics see the test rows."""
    r = results["flights"]
    spec, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    numeric = [c for c, k in spec["features"].items() if k == "numeric" and c not in spec["leaky"]]
    categorical = [c for c, k in spec["features"].items() if k == "categorical"]

    def pre() -> ColumnTransformer:
        as_str = FunctionTransformer(lambda X: X.astype("string").fillna("(missing)").astype(object))
        te = TargetEncoder(target_type="binary", cv=StratifiedKFold(5, shuffle=True, random_state=0))
        return ColumnTransformer([("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                                  ("categorical", make_pipeline(as_str, te), categorical)], sparse_threshold=0.3)

    columns = [c for c in spec["features"] if c in numeric + categorical]
    test = cap(s["test"], CAP["flights"], 0)  # at most max_train_rows test rows
    X_train, X_test = df.iloc[s["train"]][columns], df.iloc[test][columns]
    y_train, y_test = y[s["train"]], y[test]
    lr = LogisticRegression(solver="newton-cholesky")
    right = make_pipeline(pre(), lr).fit(X_train, y_train)
    auc_right = roc_auc_score(y_test, right.predict_proba(X_test)[:, 1])
    shortcut = pre()
    encoded = shortcut.fit_transform(pd.concat([X_train, X_test]), np.r_[y_train, y_test])
    wrong = LogisticRegression(solver="newton-cholesky").fit(encoded[: len(X_train)], y_train)
    auc_wrong = roc_auc_score(y_test, wrong.predict_proba(shortcut.transform(X_test))[:, 1])
    assert r["stats_gap"]["scale + target encoding"] == pytest.approx(auc_wrong - auc_right, abs=1e-6)
    assert r["target_encoding_leak"] == r["stats_gap"]["scale + target encoding"]
    assert abs(r["stats_gap"]["scale + one-hot"]) < 0.002, "statistics that read no labels barely move the score"


def test_flights_top_k_is_chosen_on_validation_rows_and_judged_on_test_rows(results) -> None:
    r = results["flights"]
    assert [r["selection"], r["top_k"], r["tolerance"]] == [DEFAULTS[k] for k in ("selection", "top_k", "tolerance")]
    imp = {f: v for f, v in r["permutation_importance"].items() if f in r["admissible"]}
    ranked = sorted(r["admissible"], key=lambda f: -imp[f])  # stable: ties keep the case's order
    assert r["top_features"] == ranked[:DEFAULTS["top_k"]]
    assert r["ship_top_k"] == (r["top_k_loss_valid_lo"] <= r["tolerance"])
    assert r["chosen_features"] == (r["top_features"] if r["ship_top_k"] else r["admissible"])
    case = load_case("flights")
    _, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    for prefix, fit, on in (("valid_auc_", "fit", "valid"), ("auc_", "train", "test")):
        got = {}
        for key, columns in (("top_k", r["top_features"]), ("all", r["admissible"])):
            model = boosting.pipeline(case, columns=columns, seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
            model.fit(df.iloc[s[fit]], y[s[fit]])
            got[key] = roc_auc_score(y[s[on]], model.predict_proba(df.iloc[s[on]])[:, 1])
            assert r[prefix + key] == pytest.approx(got[key], rel=1e-9), prefix + key
        loss = "top_k_loss_valid" if on == "valid" else "top_k_loss_test"
        assert r[loss] == pytest.approx(got["all"] - got["top_k"], abs=1e-12)


def test_flights_permutation_importances_agree_with_scikit_learn(results) -> None:
    r = results["flights"]
    case = load_case("flights")
    _, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    columns = [c for c in r["candidates"] if c in r["admissible"] + r["refused_coverage"]]  # the notebook's order
    model = boosting.pipeline(case, columns=columns, seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
    model.fit(df.iloc[s["fit"]][columns], y[s["fit"]])
    ref = permutation_importance(model, df.iloc[s["valid"]][columns], y[s["valid"]], scoring="roc_auc",
                                 n_repeats=10, random_state=0)
    ours = pd.DataFrame({"importance": r["permutation_importance"], "sd": r["permutation_sd"]}).loc[columns]
    sk = pd.DataFrame({"importance": ref.importances_mean, "sd": ref.importances_std}, index=columns)
    bound = 3 * np.sqrt(ours["sd"] ** 2 / 5 + sk["sd"] ** 2 / 10) + 0.003  # 5 shuffles vs 10
    assert (np.abs(ours["importance"] - sk["importance"]) <= bound).all(), pd.concat([ours, sk], axis=1)
    assert ours["importance"].idxmax() == sk["importance"].idxmax() == "sched_dep_hour"
    rho = spearmanr([r["gain_share"][c] for c in columns], [r["permutation_importance"][c] for c in columns])[0]
    assert r["importance_rank_agreement"] == pytest.approx(rho, abs=1e-12)


def test_flights_fragile_features_follow_the_gain_shares_of_three_time_windows(results) -> None:
    r = results["flights"]
    case = load_case("flights")
    spec, df, y = raw("flights")
    train = rows("flights", "time", RUNS["flights"])["train"]
    ordered = train[np.argsort(df[spec["time_column"]].to_numpy()[train], kind="stable")]
    columns = [c for c in r["candidates"] if c not in r["refused_leaks"]]
    shares = []
    for part in np.array_split(ordered, DEFAULTS["windows"]):
        model = boosting.pipeline(case, columns=columns, seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
        model.fit(df.iloc[np.sort(part)], y[np.sort(part)])
        names = [n.split("__", 1)[1] for n in model[0].get_feature_names_out()]
        gain = pd.Series(model[-1].booster_.feature_importance(importance_type="gain"), index=names)
        shares.append(gain / gain.sum())
    shares = pd.concat(shares, axis=1)
    cv = shares.std(axis=1, ddof=0) / shares.mean(axis=1)
    for c in columns:
        assert r["importance_cv"][c] == pytest.approx(cv[c], rel=1e-9), c
    assert sorted(r["fragile_features"]) == sorted(cv.index[cv > 0.5])


def test_reviews_duplicate_texts_across_the_split_are_counted_and_share_their_label(results) -> None:
    r = results["reviews"]
    spec, df, y = raw("reviews")
    s = rows("reviews", "random", RUNS["reviews"])
    assert r["split_kind"] == "random" and r["max_train_rows"] == 4000 and r["n_test"] == len(s["test"])
    train, test = df.iloc[s["train"]], df.iloc[s["test"]]
    key = ["review", "review_chars"]
    exact = test[key].merge(train[key].drop_duplicates(), how="left", on=key, indicator=True)["_merge"] == "both"
    assert r["exact_duplicates_across_split"] == exact.sum() > 0
    assert r["duplicates_across_split"] >= r["exact_duplicates_across_split"]
    within = train.duplicated(key, keep=False).sum()
    assert r["duplicates_in_training"] >= within > 0
    label = dict(zip(train["review"], y[s["train"]]))
    same = np.mean([label[t] == yy for t, yy in zip(test["review"][exact.to_numpy()], y[s["test"]][exact.to_numpy()])])
    assert same > 0.9 > 1 - 2 * y.mean() * (1 - y.mean()), "a copied review copies its label"
    assert "deduplicate before splitting" in r["decision"]["choice"]
    assert r["duplicate_same_label"] >= 0.9
    assert r["admissible"] == ["review", "review_chars"] and r["split_gap"] is None


def test_lending_has_no_time_split_and_its_one_feature_scores_are_recomputed(results) -> None:
    r = results["lending"]
    spec, df, y = raw("lending")
    s = rows("lending", "random", RUNS["lending"])
    assert r["split_kind"] == "random" and r["n_test"] == math.ceil(0.25 * len(df)) == len(s["test"])
    assert (r["n_fit"], r["n_valid"]) == (len(s["fit"]), len(s["valid"]))
    assert r["split_gap"] is None and r["drift"] is None and list(r["twin_share"]) == ["random"]
    fit, valid = df.iloc[s["fit"]], df.iloc[s["valid"]]
    prior = y[s["fit"]].mean()
    for col in ("sub_grade", "term", "verification_status"):  # categorical: smoothed level rates (10 rows of prior)
        stats = pd.DataFrame({"c": fit[col].astype(str), "y": y[s["fit"]]}).groupby("c")["y"].agg(["sum", "count"])
        rate = (stats["sum"] + 10 * prior) / (stats["count"] + 10)
        expected = roc_auc_score(y[s["valid"]], valid[col].astype(str).map(rate).fillna(prior))
        assert r["one_feature_auc"][col] == pytest.approx(expected, rel=1e-12), col
    for col in ("annual_inc", "revol_util"):
        outside = (valid[col] < fit[col].min()) | (valid[col] > fit[col].max())
        assert r["unseen_share"][col] == pytest.approx(outside.mean(), abs=1e-12)
    assert r["unseen_share"]["addr_state"] == pytest.approx((~valid["addr_state"].isin(set(fit["addr_state"]))).mean())


def test_lending_refuses_nothing_and_its_decision_follows_the_validation_interval(results) -> None:
    r = results["lending"]
    spec, _, _ = raw("lending")
    assert r["flagged_leaks"] == r["refused_leaks"] == r["refused_coverage"] == r["suspects"] == []
    assert r["auc_with_declared_leaks"] is None and r["admissible"] == list(spec["features"])
    assert r["entities"] == {} and r["duplicates_in_training"] == 0
    assert r["chosen_features"] == (r["top_features"] if r["top_k_loss_valid_lo"] <= r["tolerance"] else r["admissible"])
    d = r["decision"]
    assert d["choice"].startswith(f"Ship {len(r['chosen_features'])} features") and "refuse nothing" in d["choice"]
    assert any("time column" in w for w in d["would_change"])


def test_runs_under_plain_papermill_from_the_notebooks_folder_and_is_deterministic(tmp_path: Path, results) -> None:
    out = tmp_path / "out.ipynb"
    args = [arg for k, v in RUNS["lending"].items() for arg in ("-p", k, str(v))]
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOK), str(out), *args, "--cwd", str(REPO / "notebooks")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_records(read_notebook(out)) == results["lending"]


def test_a_case_at_the_notebooks_minimum_runs_with_the_defaults(tmp_path: Path) -> None:
    """No default may fail on a case that meets the declared min_rows and min_class_rows."""
    from workbench.cases.synthetic import make_case
    from workbench.runner.applicability import applicability

    app = applicability(read_notebook(NOTEBOOK), NOTEBOOK, strict=True)
    folder = make_case(tmp_path / "cases" / "smallest", n=app.min_rows, seed=3, notebooks=["02_features"])
    df = pd.read_parquet(folder / "data.parquet")
    assert min((df["label"] == "yes").sum(), (df["label"] == "no").sum()) >= app.min_class_rows
    result = execute(plan_run("02_features", {"case": str(folder)}, runs_dir=tmp_path / "runs"))
    assert result.ok, result.error
    assert result.results["decision"]["choice"].startswith("Ship")
