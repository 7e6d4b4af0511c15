"""Data tests of the `bandit` case (Open Bandit Dataset sample): schema, counts, propensities, sha256.

Counts and rates are recomputed with pandas from the parquet file and compared with what
DATASHEET.md documents and what the Open Bandit Dataset's design implies (uniform propensities).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import REPO
from workbench.cases import load_case
from workbench.fileio import sha256_file

FOLDER = REPO / "casestudies" / "bandit"
ITEMS = {"all": 80, "men": 34, "women": 46}
CLICKS = {("all", "random"): 38, ("all", "bts"): 42, ("men", "random"): 46, ("men", "bts"): 69,
          ("women", "random"): 46, ("women", "bts"): 46}  # as in DATASHEET.md


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_parquet(FOLDER / "bandit.parquet")


def test_the_case_loads_as_logged_interactions_and_matches_its_sha256() -> None:
    case = load_case("bandit")
    assert case.task == "interactions" and case.costs is None
    ix = case.interactions
    assert ix is not None and (ix.action, ix.reward, ix.propensity, ix.policy) == ("item_id", "click", "propensity", "policy")
    assert ix.uniform_policy == "random" and ix.segment == "campaign" and ix.position == "position"
    assert sha256_file(case.data_path) == case.sha256
    assert "09_experiments" in case.notebooks and case.time_column == "timestamp"


def test_each_policy_and_campaign_has_ten_thousand_rows_and_the_documented_clicks(raw: pd.DataFrame) -> None:
    groups = raw.groupby(["campaign", "policy"], observed=True)
    assert groups.size().to_dict() == {key: 10_000 for key in CLICKS}
    assert groups["click"].sum().to_dict() == CLICKS
    assert set(raw["click"].unique()) == {0, 1} and set(raw["position"].unique()) == {1, 2, 3}
    assert not raw.isna().any().any()


def test_the_random_policy_shows_every_item_of_its_campaign_with_equal_probability(raw: pd.DataFrame) -> None:
    for campaign, n_items in ITEMS.items():
        rows = raw[(raw["campaign"] == campaign) & (raw["policy"] == "random")]
        np.testing.assert_allclose(rows["propensity"], 1 / n_items, rtol=1e-4)
        assert rows["item_id"].min() == 0 and rows["item_id"].max() == n_items - 1
        assert raw.loc[raw["campaign"] == campaign, "item_id"].max() < n_items
    bts = raw[raw["policy"] == "bts"]["propensity"]
    assert bts.gt(0).all() and bts.le(1).all() and bts.nunique() > 1000, "Thompson sampling's own probabilities"


def test_rows_are_one_week_in_time_order(raw: pd.DataFrame) -> None:
    assert raw["timestamp"].is_monotonic_increasing
    assert raw["timestamp"].min() >= pd.Timestamp("2019-11-24") and raw["timestamp"].max() < pd.Timestamp("2019-12-01")
    assert raw["impression_id"].tolist() == list(range(len(raw)))
    assert raw["timestamp"].dt.day.nunique() == 7


def test_the_datasheet_documents_provenance_licence_and_the_file() -> None:
    text = (FOLDER / "DATASHEET.md").read_text()
    for section in ("## Source", "## Licence", "## Collection", "## Preprocessing", "bias", "## Intended use"):
        assert section.lower() in text.lower(), section
    assert "obp` 0.4.1" in text and "Apache License 2.0" in text
    assert load_case("bandit").sha256 in text
    build = (FOLDER / "build.py").read_text()
    assert "_build.download_wheel(OBP, OBP_WHEEL_SHA256" in build and "87dec9ca" in build
    shared = (FOLDER.parent / "_build.py").read_text()
    assert "--no-deps" in shared and "--require-hashes" in shared, "downloaded, hash-checked, never installed"
