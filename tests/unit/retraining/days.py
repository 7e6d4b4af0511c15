"""A synthetic day-by-day case for the retraining tests: rows at random times over many days."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.cases import load_case
from workbench.fileio import sha256_file

__all__ = ["FEATURES", "days_frame", "frame_case"]


def days_frame(n_days: int = 40, per_day: int = 20, seed: int = 0) -> pd.DataFrame:
    """per_day rows on each of n_days days at random times, shuffled, with random 0/1 labels."""
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(n_days), per_day)
    when = (pd.Timestamp("2024-03-01") + pd.to_timedelta(day, unit="D")
            + pd.to_timedelta(rng.integers(0, 86_400, len(day)), unit="s"))
    colour = rng.choice(["red", "green", "blue"], len(day)).astype(object)
    colour[rng.random(len(day)) < 0.05] = None
    df = pd.DataFrame({"when": when, "dayno": day.astype(float), "noise": rng.normal(size=len(day)),
                       "colour": colour, "secret": rng.normal(size=len(day)),
                       "label": rng.integers(0, 2, len(day)).astype("int8")})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def frame_case(folder: Path, df: pd.DataFrame, features: dict[str, str], **overrides):
    """A loaded case study holding df (target `label`, positive class 1, time column `when`)."""
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec = {
        "id": folder.name, "title": "Days", "question": "Is it 1?", "data": "data.parquet",
        "sha256": sha256_file(folder / "data.parquet"), "task": "binary", "target": "label",
        "positive_class": 1, "time_column": "when", "features": features, "identifiers": [],
        "sensitive": [], "text_column": None, "leaky": [], "costs": {"unit": "USD", "false_positive": 1,
                                                                       "false_negative": 4},
        "label_delay_days": None, "slices": [], "notebooks": [],
    }
    spec.update(overrides)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_case(folder)


FEATURES = {"dayno": "numeric", "noise": "numeric", "colour": "categorical", "secret": "numeric"}
