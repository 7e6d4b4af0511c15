"""Model runtimes (workbench.serving.runtimes and its adapters): each gives LightGBM's predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.errors import WorkbenchError
from workbench.modelling import boosting
from workbench.serving import runtimes

# The stated tolerances: lleaves computes in 64-bit floats as LightGBM does; ONNX tree ensembles in 32-bit.
TOLERANCE = {"lightgbm": 0.0, "lleaves": 1e-12, "onnx": 1e-5}


def mixed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two numeric columns (one with missing values) and two categorical code columns (8 and 30 levels)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 8, n), rng.exponential(size=n),
                         rng.integers(0, 30, n)]).astype(np.float32)
    X[rng.random(n) < 0.1, 2] = np.nan
    logit = X[:, 0] + np.isin(X[:, 1], [1, 4, 6]) * 1.5 - np.nan_to_num(X[:, 2]) + (X[:, 3] % 3 == 0)
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.fixture(scope="module")
def model():
    X, y = mixed(3000, 0)
    return boosting.train(X, y, categorical=[1, 3], n_estimators=40, num_leaves=15)


def random_rows(n: int, seed: int) -> np.ndarray:
    """Rows the model never saw: fresh numbers, missing values, and codes that are unseen (30..39),
    negative (LightGBM: missing) or missing, in the categorical columns."""
    X, _ = mixed(n, seed)
    rng = np.random.default_rng(seed + 1)
    X[rng.random(n) < 0.05, 1] = np.nan
    unseen = rng.random(n) < 0.05
    X[unseen, 3] = rng.integers(30, 40, unseen.sum())
    X[rng.random(n) < 0.05, 3] = -1
    X[rng.random(n) < 0.05, 0] = np.nan
    return X


@pytest.mark.parametrize("name", runtimes.RUNTIMES)
def test_every_runtime_gives_lightgbms_probabilities_within_its_stated_tolerance(model, name: str,
                                                                                 tmp_path: Path) -> None:
    X = random_rows(5000, 7)
    assert np.isnan(X[:, 1]).any() and (X[:, 3] >= 30).any() and (X[:, 3] == -1).any()
    reference = model.predict(X, num_threads=1)
    runtime = runtimes.build(name, model, cache_dir=tmp_path)
    p = runtime.predict(X)
    assert runtime.name == name and p.shape == (5000,) and p.dtype == np.float64
    assert np.max(np.abs(p - reference)) <= TOLERANCE[name]
    assert runtime.prepare_seconds >= 0
    one = runtime.predict(X[:1])
    assert one.shape == (1,) and abs(one[0] - reference[0]) <= TOLERANCE[name]


def test_lleaves_is_compiled_once_per_model_and_then_loaded_from_the_cache(model, tmp_path: Path) -> None:
    first = runtimes.build("lleaves", model, cache_dir=tmp_path)
    again = runtimes.build("lleaves", model, cache_dir=tmp_path)
    assert (first.detail, again.detail) == ("compiled", "from cache")
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".so"] == [f"lleaves-{runtimes.model_hash(model)}.so"]
    X = random_rows(500, 3)
    np.testing.assert_array_equal(first.predict(X), again.predict(X))
    saved = tmp_path / "model.txt"
    saved.write_text(boosting.to_text(model))
    loaded = runtimes.load("lleaves", saved, cache_dir=tmp_path)
    assert loaded.detail == "from cache", "a service started from the saved model reuses the compiled one"
    np.testing.assert_array_equal(loaded.predict(X), first.predict(X))
    other = boosting.truncate(model, 10)
    assert runtimes.model_hash(other) != runtimes.model_hash(model)
    assert runtimes.build("lleaves", other, cache_dir=tmp_path).detail == "compiled"


def test_a_runtime_loads_a_saved_model_file(model, tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text(boosting.to_text(model))
    X = random_rows(300, 5)
    np.testing.assert_array_equal(runtimes.load("lightgbm", path).predict(X), model.predict(X, num_threads=1))


def test_agreement_counts_changed_decisions_and_the_largest_difference() -> None:
    ref = np.array([0.1, 0.2, 0.30, 0.5])
    other = np.array([0.1, 0.2 - 1e-9, 0.31, 0.5])
    out = runtimes.agreement(ref, other, threshold=0.2)
    assert out == {"rows": 4, "max_abs_diff": pytest.approx(0.01), "decisions_changed": 1}
    with pytest.raises(ValueError, match="shape"):
        runtimes.agreement(ref, other[:3], 0.5)


def test_an_unknown_runtime_or_a_missing_cache_is_a_clear_error(model) -> None:
    with pytest.raises(WorkbenchError, match="unknown runtime 'tvm' .*lightgbm, lleaves, onnx"):
        runtimes.build("tvm", model)
    with pytest.raises(WorkbenchError, match="cache_dir"):
        runtimes.build("lleaves", model)
