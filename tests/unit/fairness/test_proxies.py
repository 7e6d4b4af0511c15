"""Proxy models (workbench.fairness.proxies): a planted proxy is found, noise is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.cases import Case, Costs
from workbench.fairness.proxies import proxy_auc


def case_with_proxy(n: int = 3000, seed: int = 0) -> Case:
    """A case whose attribute `group` is carried by `z` (a noisy copy) and not by `w` (noise)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    code = pd.Series(group).map({"a": 0.0, "b": 1.0, "c": 2.0}).to_numpy()
    data = pd.DataFrame({"z": code + rng.normal(0, 0.3, n), "w": rng.normal(size=n),
                         "group": pd.Categorical(group), "label": rng.choice(["yes", "no"], n)})
    return Case(id="planted", title="planted proxy", question="?", folder=Path("."), data_file="x.parquet",
                sha256=None, task="binary", target="label", positive_class="yes", time_column=None,
                features={"z": "numeric", "w": "numeric", "group": "categorical"}, identifiers=[],
                sensitive=["group"], text_column=None, leaky=[], costs=Costs("USD", 1.0, 1.0),
                label_delay_days=None, prediction_lead_days=None, slices=[], notebooks=[], data=data)


def test_a_proxy_model_finds_a_planted_proxy_and_not_noise() -> None:
    cs = case_with_proxy()
    df = cs.frame()
    fit, evaluate = df.iloc[:2000], df.iloc[2000:]
    found = proxy_auc(cs, fit, evaluate, "group")
    assert found.columns == ["z", "w"], "every feature that is not sensitive"
    assert found.auc > 0.9 and set(found.by_group) == {"a", "b", "c"}
    noise = proxy_auc(cs, fit, evaluate, "group", columns=["w"])
    assert abs(noise.auc - 0.5) < 0.06
    # as well as the planted rule itself (z alone, scored by scikit-learn), within noise
    from sklearn.metrics import roc_auc_score

    assert found.by_group["c"] > roc_auc_score(evaluate["group"] == "c", evaluate["z"]) - 0.03


def test_small_groups_are_pooled_and_the_attribute_itself_is_refused() -> None:
    cs = case_with_proxy()
    df = cs.frame()
    pooled = proxy_auc(cs, df.iloc[:2000], df.iloc[2000:], "group", min_rows=500)
    assert "c" not in pooled.by_group and "(small groups)" in pooled.by_group
    with pytest.raises(ValueError, match="must not see the attribute"):
        proxy_auc(cs, df, df, "group", columns=["z", "group"])
