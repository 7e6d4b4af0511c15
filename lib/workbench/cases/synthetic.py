"""Synthetic case studies and tables with a known structure, for tests, benchmarks and trying the workbench.

`make_case` writes a small valid binary case (numeric, categorical and time columns, an identifier)
whose positive rate follows a known logistic model of its features. `make_table` makes a user-like
table of any shape (rows, columns, a time column, text, missing values, a rare positive class, a
planted leak, an identifier) for `workbench init` and `workbench review`. `make_interactions_case`
writes a valid case of logged interactions: a uniform policy and a greedy one showing items in slots.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["make_case", "make_interactions_case", "make_table"]


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


_WORDS = (
    "late", "delivery", "broken", "box", "great", "taste", "love", "it", "would", "buy", "again",
    "stale", "bland", "refund", "awful", "fresh", "crunchy", "sweet", "salty", "bitter", "perfect",
    "gift", "price", "value",
)


def make_table(n: int = 2000, *, numeric: int = 6, categorical: int = 3, seed: int = 0, time: bool = True,
               text: bool = False, sensitive: bool = False, missing: float = 0.0, high_cardinality: bool = False,
               positive_rate: float = 0.2, leak: bool = False, identifier: bool = True) -> pd.DataFrame:
    """A table with a binary target `outcome` ("yes" rare) that depends on some of its columns.

    The signal: a logistic model of the first numeric columns and the first categorical one, shifted
    so that about `positive_rate` of rows are positive. Options add a `when` time column (hourly,
    with a slow drift), a `comment` text column whose words carry signal, a `group` sensitive-like
    attribute, missing values at rate `missing`, a `code` column with thousands of levels, a `leak`
    column equal to the target with 2% noise, and a unique `row_id`.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    if identifier:
        cols["row_id"] = np.arange(1, n + 1)
    if time:
        cols["when"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.arange(n) * 3600 * 24 * 365 // max(n, 1), unit="s")
    logit = np.zeros(n)
    for j in range(numeric):
        x = rng.normal(size=n) + (0.5 * np.arange(n) / n if time and j == 0 else 0)
        if j < 3:
            logit += (1.0, -0.7, 0.4)[j] * x
        cols[f"num_{j}"] = np.round(x * 10 + 50, 3)
    for j in range(categorical):
        levels = np.array([f"c{j}_{k}" for k in range(4 + j)])
        v = rng.choice(levels, size=n)
        if j == 0:
            logit += np.where(v == levels[0], 1.0, 0.0)
        cols[f"cat_{j}"] = v
    if sensitive:
        g = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
        logit += np.where(g == "a", 0.3, 0.0)
        cols["group"] = g
    if text:
        good, bad = _WORDS[8:12], _WORDS[:4]
        sentences = []
        for k in range(n):
            words = list(rng.choice(_WORDS, size=6))
            words.append(bad[k % 4] if logit[k] > 0.5 else good[k % 4])
            sentences.append(" ".join(words))
        cols["comment"] = sentences
    if high_cardinality:
        cols["code"] = np.char.add("z", rng.integers(0, max(50, n // 2), size=n).astype(str))
    shift = float(np.quantile(logit + rng.logistic(size=n), 1 - positive_rate))
    y = (logit + rng.logistic(size=n)) > shift
    if leak:
        cols["leak"] = np.where(rng.random(n) < 0.02, ~y, y).astype(int)
    df = pd.DataFrame(cols)
    if missing:
        for c in [c for c in df.columns if c.startswith(("num_", "cat_"))]:
            df.loc[rng.random(n) < missing, c] = None
    df["outcome"] = np.where(y, "yes", "no")
    return df


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
