"""The one place the workbench talks to LightGBM, so that an upgrade of its API touches one module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from workbench.cases import Case

__all__ = ["classifier", "continue_training", "fit_pipeline", "from_text", "gain_importance", "model_size_bytes",
           "monotone_constraints", "n_trees", "pipeline", "predict", "staged_predict", "to_text", "train", "truncate"]


def classifier(*, seed: int = 0, n_estimators: int = 200, learning_rate: float = 0.05,
               num_leaves: int = 31, min_child_samples: int = 20, **params: Any):
    """A deterministic LightGBM binary classifier with sensible sizes for laptop-speed notebooks.

    One thread unless `n_jobs` says otherwise: at these data sizes a second thread gains little, and
    OpenMP threads that spin while another run (a sweep, the main job) holds the other core made
    fits 40x slower here.
    """
    from lightgbm import LGBMClassifier

    params.setdefault("n_jobs", 1)
    return LGBMClassifier(
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        num_leaves=num_leaves,
        min_child_samples=min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
        **params,
    )


def pipeline(case: Case, *, columns: list[str] | None = None, include_leaky: bool = False, seed: int = 0,
             n_estimators: int = 200, **params: Any) -> Pipeline:
    """The case's tree preprocessor and a LightGBM classifier as one Pipeline (encodings fit on training rows).

    `columns` restricts the model to those feature columns (leaky ones included if named).
    """
    from sklearn.pipeline import make_pipeline

    from workbench.modelling.preprocessing import preprocessor

    return make_pipeline(preprocessor(case, model="tree", include_leaky=include_leaky, columns=columns),
                         classifier(seed=seed, n_estimators=n_estimators, **params))


def monotone_constraints(names: Sequence[str], directions: Mapping[str, int]) -> list[int]:
    """LightGBM's `monotone_constraints` for input columns named as the tree preprocessor names them
    (`numeric__annual_inc`): a feature's declared direction (+1 / -1) on its column, 0 elsewhere."""
    names = [str(n) for n in names]
    wanted = {f"numeric__{col}": int(np.sign(d)) for col, d in directions.items()}
    missing = sorted(k.removeprefix("numeric__") for k in wanted if k not in names)
    if missing:
        raise ValueError(f"monotone constraints need numeric features passed through as they are; not among the "
                         f"model's input columns: {', '.join(missing)}")
    return [wanted.get(n, 0) for n in names]


def fit_pipeline(pipe: Pipeline, X: Any, y: np.ndarray, *, monotone: Mapping[str, int] | None = None,
                 method: str = "basic") -> Pipeline:
    """Fit a pipeline made by `pipeline`; with `monotone` (numeric feature -> +1 increasing, -1 decreasing),
    P(positive class) is constrained to move only that way in each named feature (LightGBM's
    `monotone_constraints`, set once the fitted preprocessor has fixed the column order).

    `method` is LightGBM's `monotone_constraints_method`: basic (its default and the fastest),
    intermediate or advanced (less restrictive, slower; the same guarantee).
    """
    if not monotone:
        return pipe.fit(X, y)
    preprocess, model = pipe[:-1], pipe[-1]
    Xt = preprocess.fit_transform(X, y)
    names = preprocess.get_feature_names_out()
    model.set_params(monotone_constraints=monotone_constraints(names, monotone), monotone_constraints_method=method)
    model.fit(Xt, y)
    return pipe


def model_size_bytes(model: Any) -> int:
    """Size of a fitted LightGBM model as saved text."""
    return len(model.booster_.model_to_string().encode())


def gain_importance(model: Any) -> np.ndarray:
    """Total gain of the splits on each input column of a fitted LightGBM model, in column order."""
    return np.asarray(model.booster_.feature_importance(importance_type="gain"), dtype=float)


def train(X: np.ndarray, y: np.ndarray, *, categorical: list[int] | tuple[int, ...] = (), seed: int = 0,
          n_estimators: int = 40, learning_rate: float = 0.1, num_leaves: int = 15,
          min_child_samples: int = 20, threads: int = 1, weight: np.ndarray | None = None, **params: Any):
    """A deterministic LightGBM binary booster fitted on arrays (categorical: column positions of codes).

    Built for many small fits in a loop: the native API, without the scikit-learn wrapper's checks,
    and one thread by default, because on a few thousand rows threads cost more than they save.
    `weight` weighs each row's loss (e.g. a soft label as two weighted rows, for distillation).
    """
    import lightgbm as lgb

    settings = {
        "objective": "binary",
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_data_in_leaf": min_child_samples,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": threads,
        "verbose": -1,
        **params,
    }
    data = lgb.Dataset(X, y, weight=weight, categorical_feature=list(categorical) or "auto", params={"verbose": -1})
    return lgb.train(settings, data, num_boost_round=n_estimators)


def continue_training(model: Any, X: np.ndarray, y: np.ndarray, *, n_estimators: int = 10):
    """A new booster: model's trees plus n_estimators trees fitted on (X, y) only, with model's settings.

    The stateful update of continual learning: the new trees start from model's predictions (its
    scores are the starting point, LightGBM's `init_model`), so old data is never read again.
    The categorical columns are the model's. `model` itself is left unchanged. The new booster is
    kept ready for training: no round trip through text, which costs more as the model grows.
    """
    import lightgbm as lgb

    # a booster remembers its round count; left in, it would override n_estimators
    settings = {k: v for k, v in model.params.items()
                if k not in ("num_iterations", "num_boost_round", "n_estimators", "categorical_column")}
    categorical = list(model.params.get("categorical_column") or [])
    data = lgb.Dataset(X, y, categorical_feature=categorical or "auto", params={"verbose": -1})
    return lgb.train(settings, data, num_boost_round=n_estimators, init_model=model,
                     keep_training_booster=True)


def predict(model: Any, X: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Probability of the positive class from a booster made by `train` or `continue_training`.

    One thread by default: a replay makes hundreds of small predictions, where threads cost more
    than they save (and spin when other processes share the cores).
    """
    return model.predict(X, num_threads=threads)


def staged_predict(model: Any, X: np.ndarray, counts: list[int] | tuple[int, ...], *,
                   threads: int = 1) -> dict[int, np.ndarray]:
    """Probabilities of the model's first k trees, for each k in counts, evaluating every tree once.

    The same as predicting with each `truncate(model, k)`, at the cost of one prediction with the
    largest k: the raw scores of consecutive stretches of trees are added up.
    """
    booster = getattr(model, "booster_", model)
    out: dict[int, np.ndarray] = {}
    raw = np.zeros(len(X))
    done = 0
    for k in sorted(set(counts)):
        if not 1 <= k <= booster.num_trees():
            raise ValueError(f"cannot predict with {k} trees of a model with {booster.num_trees()}")
        raw = raw + booster.predict(X, start_iteration=done, num_iteration=k - done, raw_score=True, num_threads=threads)
        done = k
        out[k] = 1.0 / (1.0 + np.exp(-raw))
    return out


def n_trees(model: Any) -> int:
    """Number of trees in a booster (or a fitted LGBMClassifier)."""
    booster = getattr(model, "booster_", model)
    return int(booster.num_trees())


def to_text(model: Any, *, n_trees: int | None = None) -> str:
    """A booster (or fitted LGBMClassifier) as LightGBM's model text, optionally only its first n_trees."""
    booster = getattr(model, "booster_", model)
    return str(booster.model_to_string(num_iteration=n_trees))


def from_text(text: str):
    """A booster from LightGBM's model text."""
    import lightgbm as lgb

    return lgb.Booster(model_str=text)


def truncate(model: Any, keep: int):
    """A new booster holding only the first `keep` trees of model (a smaller model of the same fit)."""
    total = n_trees(model)
    if not 1 <= keep <= total:
        raise ValueError(f"cannot keep {keep} trees of a model with {total}")
    return from_text(to_text(model, n_trees=keep))
