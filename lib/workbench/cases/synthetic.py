"""Small synthetic case studies with a known structure, for tests, benchmarks and trying the workbench.

`make_case` writes a valid binary case (numeric, categorical and time columns, an identifier) whose
positive rate follows a known logistic model of its features. `make_interactions_case` writes a
valid case of logged interactions: a uniform policy and a greedy one showing items in slots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["make_case", "make_interactions_case"]


def make_case(folder: Path, *, n: int = 400, seed: int = 0, notebooks: list[str] | None = None,
              **overrides: Any) -> Path:
    """Write a small valid binary case into folder (data.parquet with its sha256, case.yaml); return folder.

    P(label = "yes") = sigmoid(2 x + [colour == red] - 1); rows are hourly from 2024-01-01.
    Keyword arguments override case.yaml fields.
    """
    import numpy as np
    import pandas as pd
    import yaml

    from workbench.fileio import sha256_file

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    when = pd.date_range("2024-01-01", periods=n, freq="h")
    p = 1 / (1 + np.exp(-(2 * x + (colour == "red") - 1)))
    df = pd.DataFrame({"id": np.arange(n), "when": when, "x": x, "colour": colour,
                       "label": np.where(rng.random(n) < p, "yes", "no")})
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec: dict[str, Any] = {
        "id": folder.name, "title": "Tiny", "question": "Is it yes?", "data": "data.parquet",
        "sha256": sha256_file(folder / "data.parquet"), "task": "binary", "target": "label",
        "positive_class": "yes", "time_column": "when", "features": {"x": "numeric", "colour": "categorical"},
        "identifiers": ["id"], "sensitive": [], "text_column": None, "leaky": [],
        "costs": {"unit": "USD", "false_positive": 1, "false_negative": 4},
        "label_delay_days": None, "slices": [{"column": "colour"}, {"column": "x", "bins": [-10, 0, 10]}],
        "notebooks": notebooks if notebooks is not None else ["00_framing"],
    }
    spec.update(overrides)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def make_interactions_case(folder: Path, *, n: int = 2000, items: int = 5, slots: int = 2, seed: int = 0,
                           notebooks: list[str] | None = None, **overrides: Any) -> Path:
    """Write a small valid case of task interactions into folder; return folder.

    Two policies log alternately, every 10 minutes from 2024-01-01: "uniform" shows each item with
    probability 1 / items, "greedy" shows item 0 with probability 0.6 and the others equally.
    P(click | item a, slot k) = 0.05 * (a + 1) / (k + 1). Keyword arguments override case.yaml fields.
    """
    import numpy as np
    import pandas as pd
    import yaml

    from workbench.fileio import sha256_file

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    policy = np.where(np.arange(n) % 2 == 0, "uniform", "greedy")
    greedy = np.r_[0.6, np.full(items - 1, 0.4 / (items - 1))]
    item = np.where(policy == "uniform", rng.integers(0, items, n), rng.choice(items, size=n, p=greedy))
    slot = rng.integers(1, slots + 1, n)
    propensity = np.where(policy == "uniform", 1 / items, greedy[item])
    click = (rng.random(n) < 0.05 * (item + 1) / slot).astype("int8")
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="10min"), "policy": policy,
                       "item": item.astype("int16"), "slot": slot.astype("int8"), "click": click,
                       "propensity": propensity, "device": rng.choice(["phone", "desktop"], size=n)})
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec: dict[str, Any] = {
        "id": folder.name, "title": "Tiny logs", "question": "Which policy gets more clicks?", "data": "data.parquet",
        "sha256": sha256_file(folder / "data.parquet"), "task": "interactions", "time_column": "when",
        "interactions": {"action": "item", "position": "slot", "reward": "click", "propensity": "propensity",
                         "policy": "policy", "uniform_policy": "uniform", "context": ["device"]},
        "notebooks": notebooks if notebooks is not None else [],
    }
    spec.update(overrides)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder
