"""Notebook 08_deployment: execute it on flights and lending and check what it recorded.

Split sizes, the chosen model's test cost and the runtimes' agreement are recomputed here from the
raw parquet files and the run's saved model, features and predictions, with pandas, LightGBM and
lleaves directly, not through the workbench library; the economics are recomputed by hand from the
recorded measurements and case.yaml.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import psutil
import pytest

from tests.helpers import raw_case, shared_run

pytestmark = pytest.mark.notebook

RUNS = {  # name -> parameters
    "flights": {"case": "flights"},
    "lending": {"case": "lending"},
    # a request two hours before departure; a budget a loaded CI machine still meets (the test is about staleness)
    "flights_near": {"case": "flights", "lead_hours": 2.0, "latency_budget_ms": 1000.0},
    "lending_permuted": {"case": "lending", "permute_test_labels": True},
}


@pytest.fixture(scope="module")
def runs08(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    out = {}
    for name, params in RUNS.items():
        result = shared_run("08_deployment", params)
        assert result.ok, result.error
        out[name] = (result.results, result.run.folder)
    return out


def cost_per_1000(y: np.ndarray, flag: np.ndarray, c_fp: float, c_fn: float) -> float:
    return 1000 * (np.sum(flag & (y == 0)) * c_fp + np.sum(~flag & (y == 1)) * c_fn) / len(y)


@pytest.mark.parametrize("name", ["flights", "lending"])
def test_split_sizes_and_the_chosen_models_test_cost_match_an_independent_recomputation(runs08, name: str) -> None:
    r, folder = runs08[name]
    spec, df, y = raw_case(RUNS[name]["case"])
    n = len(df)
    n_test = math.ceil(0.25 * n)
    n_rest = n - n_test
    if spec.get("time_column"):  # the latest quarter tests, the latest quarter of the rest validates
        times = df[spec["time_column"]].to_numpy()
        test = times >= np.sort(times)[n - n_test]
        n_test = int(test.sum())
        rest_times = np.sort(times[~test])
        n_rest = len(rest_times)
        n_val = int(np.sum(rest_times >= rest_times[n_rest - math.ceil(0.25 * n_rest)]))
    else:
        n_val = math.ceil(0.25 * n_rest)
    assert r["n_test"] == min(10_000, n_test) and r["n_val"] == min(10_000, n_val)
    assert r["n_fit"] == min(20_000, n_rest - n_val)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    assert r["threshold"] == pytest.approx(c_fp / (c_fp + c_fn))
    # the saved test predictions: the rows are test rows, their labels the raw ones, the cost recomputed
    saved = pd.read_parquet(folder / "test_predictions.parquet")
    assert len(saved) == r["n_test"] and saved["row"].is_unique
    np.testing.assert_array_equal(saved["y"].to_numpy(), y[saved["row"]].astype(int))
    if spec.get("time_column"):
        assert test[saved["row"]].all(), "only test rows are judged as test rows"
    flag = saved["p_chosen"].to_numpy() >= r["threshold"]
    assert r["chosen_test_cost"] == pytest.approx(cost_per_1000(y[saved["row"]], flag, c_fp, c_fn))
    assert r["chosen_test_cost_lo"] <= r["chosen_test_cost"] <= r["chosen_test_cost_hi"]
    # the service's model file and feature table give exactly these predictions (LightGBM directly)
    model = lgb.Booster(model_file=str(folder / "service" / "model.txt"))
    features = np.load(folder / "service" / "features.npy")
    np.testing.assert_allclose(model.predict(features), saved["p_chosen"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["flights", "lending"])
def test_runtimes_give_lightgbms_predictions_and_the_compiled_model_is_cached(runs08, name: str) -> None:
    r, folder = runs08[name]
    assert r["lightgbm_max_abs_diff"] == 0 and r["lightgbm_decisions_changed"] == 0
    assert r["lleaves_max_abs_diff"] <= 1e-12 and r["lleaves_decisions_changed"] == 0
    assert r["onnx_max_abs_diff"] <= 1e-5 and r["onnx_decisions_changed"] == 0
    assert set(r["usable_runtimes"]) == {"lightgbm", "lleaves", "onnx"}
    assert r["online_runtime"] in r["usable_runtimes"] and r["batch_runtime"] in r["usable_runtimes"]
    p99 = {n: r[f"{n}_p99_us"] for n in r["usable_runtimes"]}
    assert r["online_runtime"] == min(p99, key=p99.get)
    rps = {n: r[f"{n}_rows_per_second"] for n in r["usable_runtimes"]}
    assert r["batch_runtime"] == max(rps, key=rps.get)
    assert r["lleaves_prepare_seconds"] > 0 and r["lightgbm_prepare_seconds"] == 0
    # lleaves, loaded here from the run's cache without the workbench, agrees with LightGBM
    import lleaves

    libraries = sorted((folder / "cache").glob("lleaves-*.so"))
    assert len(libraries) == 1
    compiled = lleaves.Model(model_file=str(libraries[0].with_suffix(".txt")))
    compiled.compile(cache=str(libraries[0]))
    features = np.load(folder / "service" / "features.npy").astype(np.float64)
    reference = lgb.Booster(model_file=str(folder / "service" / "model.txt")).predict(features)
    assert np.max(np.abs(compiled.predict(features) - reference)) <= 1e-12


@pytest.mark.parametrize("name", ["flights", "lending"])
def test_the_smallest_model_validation_cannot_tell_from_the_best_is_chosen(runs08, name: str) -> None:
    r, _ = runs08[name]
    trees_models = [m for m in r["val_costs"] if m != "logistic (floor)"]
    assert r["best_on_validation"] == min(trees_models, key=r["val_costs"].get)
    assert r["best_on_validation"] in r["models_as_good_on_validation"]
    assert r["chosen_model"] in r["models_as_good_on_validation"]
    assert r["chosen_size_kb"] == min(r["size_kb"][m] for m in r["models_as_good_on_validation"])
    assert r["largest_model"] == "200 x 63" and r["largest_size_kb"] == max(r["size_kb"].values())
    assert r["chosen_vs_largest_lo"] <= r["chosen_vs_largest"] <= r["chosen_vs_largest_hi"]
    assert r["chosen_test_cost"] == pytest.approx(r["test_costs"][r["chosen_model"]])


@pytest.mark.parametrize("name", ["flights", "lending"])
def test_the_service_answered_p99_grows_with_the_rate_and_no_process_is_left(runs08, name: str) -> None:
    r, _ = runs08[name]
    assert r["load_ok_share"] == 1.0
    p99, rates = r["load_p99_ms"], r["load_rates"]
    assert rates == sorted(rates) and p99[-1] > p99[0], "the highest rate (beyond what one core sustains) queues"
    assert 0 < r["time_parts_ms"]["model"] < sum(r["time_parts_ms"].values())
    met, broke = r["met_rate"], r["broke_rate"]
    budget = r["latency_budget_ms"]
    for rate, value in zip(rates, p99):
        if met is not None and rate <= met:
            assert value <= budget
    assert broke is None or p99[rates.index(broke)] > budget
    try:
        status = psutil.Process(r["service_pid"]).status()
    except psutil.NoSuchProcess:
        status = "gone"
    assert status in ("gone", psutil.STATUS_ZOMBIE), "the service was stopped when its cell ended"


@pytest.mark.parametrize("name", ["flights", "lending", "flights_near"])
def test_the_chosen_option_is_the_cheapest_as_recomputed_by_hand(runs08, name: str) -> None:
    r, _ = runs08[name]
    spec, _, _ = raw_case(RUNS[name]["case"])
    s = spec["serving"]
    m = r["measured"]
    R, P, V = s["requests_per_day"], s["cpu_hour_price"], s["valid_hours"]
    # online: one always-on core (min_cores) unless the peak (3x the mean) needs more; infeasible when no
    # tested rate met the p99 budget (a loaded machine can miss flights' 100 ms)
    if m["rate_within_budget"] is None:
        assert r["met_rate"] is None and r["online_serving_per_1000"] is None and r["online_cost_per_1000"] is None
    else:
        cores = max(1.0, 3.0 * R / 86_400 / m["rate_within_budget"])
        assert r["online_serving_per_1000"] == pytest.approx(cores * 24 * P / (R / 1000), rel=1e-9)
    # batch: every entity every valid_hours, and a lookup per request
    job = s["entities"] * 24 / V * m["batch_seconds_per_row"] / 3600 * P
    lookups = R * m["lookup_seconds_per_request"] / 3600 * P
    assert r["batch_serving_per_1000"] == pytest.approx((job + lookups) / (R / 1000), rel=1e-9)
    assert r["batch_cost_per_1000"] == pytest.approx(r["batch_serving_per_1000"] + r["stale_cost_val"], rel=1e-9, abs=1e-12)
    totals = {o: r[f"{o}_cost_per_1000"] for o in ("online", "batch", "hybrid") if r[f"{o}_cost_per_1000"] is not None}
    cheapest = min(totals, key=totals.get)
    order = ["online", "batch", "hybrid"]
    if r["tied_with"]:
        assert order.index(r["serving_choice"]) < order.index(cheapest), "a tie goes to the simpler option"
    else:
        assert r["serving_choice"] == cheapest
    said = {"online": "score each request online", "batch": "in batch", "hybrid": "most requested entities"}
    assert said[r["serving_choice"]] in r["decision"]["choice"]


def test_a_request_close_to_departure_makes_stale_predictions_costly_and_the_choice_online(runs08) -> None:
    far, _ = runs08["flights"]
    near, _ = runs08["flights_near"]
    assert far["staleness_measured"] and near["staleness_measured"]
    # 21 days ahead, the recent past says little: batch loses nothing distinguishable, and is cheaper to run
    assert far["stale_cost_val_lo"] <= 0 <= far["stale_cost_val_hi"] or far["stale_cost_val"] < far["online_serving_per_1000"]
    assert far["serving_choice"] == "batch"
    # two hours ahead, fresh recent-past features are worth money, and a day-old batch prediction loses it
    assert near["online_model"] == "fresh" and near["stale_cost_val_lo"] > 0
    assert near["stale_cost_per_1000"] > 0, "the test rows agree"
    assert near["serving_choice"] == "online"
    assert near["online_error_cost"] < far["online_error_cost"]


def test_lending_has_no_time_so_staleness_is_assumed_free(runs08) -> None:
    r, _ = runs08["lending"]
    assert not r["staleness_measured"]
    assert r["stale_cost_val"] == r["stale_cost_per_1000"] == 0
    assert any("not measurable" in e for e in r["decision"]["evidence"])


def test_every_choice_comes_from_validation_rows_not_test_labels(runs08) -> None:
    base, _ = runs08["lending"]
    permuted, _ = runs08["lending_permuted"]
    for key in ("n_fit", "n_val", "n_test", "best_on_validation", "models_as_good_on_validation", "chosen_model",
                "val_costs", "online_model", "batch_model", "stale_cost_val", "serving_choice"):
        assert permuted[key] == base[key], key
    assert permuted["test_costs"] != base["test_costs"], "the test labels were shuffled, and test costs moved"
