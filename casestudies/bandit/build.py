"""Regenerate bandit.parquet from the Open Bandit Dataset sample shipped in the obp wheel; record its sha256.

    python casestudies/bandit/build.py           # rebuild, rewrite the sha256 line of case.yaml
    python casestudies/bandit/build.py --check   # rebuild to a temp file and compare; change nothing

Needs only python3: without the pinned sources it runs itself in a throwaway virtualenv
(see ../_build.py). The CSV files are read straight out of the `obp` wheel, which is downloaded
(`pip download --no-deps`, hash-checked) but never installed: obp needs torch and does not import
on the workbench's pins, and the twelve CSV files inside it need neither.
DATASHEET.md describes every step below.
"""

import sys
import tempfile
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _build  # noqa: E402

OBP = "obp==0.4.1"
OBP_WHEEL_SHA256 = "87dec9caf4283c25ab13036532e0a24566f1c7bdcad1653a8ded43b2f5ef8208"
DATA_DIR = "obp/dataset/obd/"
POLICIES = ["random", "bts"]  # uniform random, Bernoulli Thompson sampling
CAMPAIGNS = ["all", "men", "women"]
ITEMS = {"all": 80, "men": 34, "women": 46}  # items (actions) per campaign, as in obd/README.md
ROWS = 10_000  # rows per (policy, campaign) in the sample

USER = [f"user_feature_{i}" for i in range(4)]
ITEM_CATEGORICAL = ["item_feature_1", "item_feature_2", "item_feature_3"]
COLUMNS = ["impression_id", "timestamp", "campaign", "policy", "item_id", "position", "click", "propensity",
           *USER, "item_feature_0", *ITEM_CATEGORICAL]


def _same_partition(a, b) -> bool:
    """Whether two columns of codes group the rows identically (the files hash item features with different salts)."""
    import pandas as pd

    pairs = pd.crosstab(a, b) > 0
    return bool((pairs.sum(axis=0) == 1).all() and (pairs.sum(axis=1) == 1).all())


def read_logs(archive: zipfile.ZipFile, policy: str, campaign: str):
    """One policy's logs in one campaign, with the item context of the shown item joined on."""
    import pandas as pd

    folder = f"{DATA_DIR}{policy}/{campaign}/"
    with archive.open(folder + f"{campaign}.csv") as handle:
        logs = pd.read_csv(handle, index_col=0)
    with archive.open(folder + "item_context.csv") as handle:
        items = pd.read_csv(handle, index_col=0)
    assert logs.shape[0] == ROWS and (logs.index == range(ROWS)).all(), (policy, campaign, logs.shape)
    assert list(items["item_id"]) == list(range(ITEMS[campaign])), (policy, campaign)
    assert logs["item_id"].between(0, ITEMS[campaign] - 1).all()
    assert set(logs["position"].unique()) == {1, 2, 3} and set(logs["click"].unique()) == {0, 1}
    assert logs["propensity_score"].gt(0).all() and logs["propensity_score"].le(1).all()
    assert not logs[["timestamp", "item_id", "position", "click", "propensity_score", *USER]].isna().any().any()
    return logs, items


def build():
    import numpy as np
    import pandas as pd

    parts = []
    with tempfile.TemporaryDirectory(prefix="obp-wheel-") as tmp:
        wheel = _build.download_wheel(OBP, OBP_WHEEL_SHA256, Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            for campaign in CAMPAIGNS:
                random_items = None
                for policy in POLICIES:
                    logs, items = read_logs(archive, policy, campaign)
                    if random_items is None:
                        random_items = items
                    else:
                        # the two policies' files describe the same items: same numbers, and the hashed
                        # categories (salted per file) split the items into the same groups
                        assert np.allclose(items["item_feature_0"], random_items["item_feature_0"])
                        for col in ITEM_CATEGORICAL:
                            assert _same_partition(items[col], random_items[col]), (campaign, col)
                    shown = random_items.set_index("item_id").loc[logs["item_id"].to_numpy()]
                    parts.append(pd.DataFrame({
                        "timestamp": pd.to_datetime(logs["timestamp"], utc=True).dt.tz_localize(None).to_numpy(),
                        "campaign": campaign,
                        "policy": policy,
                        "item_id": logs["item_id"].to_numpy(),
                        "position": logs["position"].to_numpy(),
                        "click": logs["click"].to_numpy(),
                        "propensity": logs["propensity_score"].to_numpy(dtype="float64"),
                        **{col: logs[col].to_numpy() for col in USER},
                        "item_feature_0": shown["item_feature_0"].to_numpy(dtype="float64"),
                        **{col: shown[col].to_numpy() for col in ITEM_CATEGORICAL},
                        "_row": np.arange(ROWS),
                    }))

    raw = pd.concat(parts, ignore_index=True)
    # one stream in time order; ties (none in the sample) by campaign, policy and the file's row order
    raw = raw.sort_values(["timestamp", "campaign", "policy", "_row"], kind="stable", ignore_index=True)
    assert len(raw) == len(POLICIES) * len(CAMPAIGNS) * ROWS
    assert raw["timestamp"].min() >= pd.Timestamp("2019-11-24") and raw["timestamp"].max() < pd.Timestamp("2019-12-01")
    uniform = raw[raw["policy"] == "random"]
    expected = uniform["campaign"].map({c: 1 / n for c, n in ITEMS.items()})
    assert np.allclose(uniform["propensity"], expected, rtol=1e-3), "the random policy shows every item equally often"

    frame = pd.DataFrame({
        "impression_id": np.arange(len(raw), dtype="int32"),
        "timestamp": raw["timestamp"].astype("datetime64[ns]"),
        "campaign": pd.Categorical(raw["campaign"], categories=CAMPAIGNS),
        "policy": pd.Categorical(raw["policy"], categories=POLICIES),
        "item_id": raw["item_id"].astype("int16"),
        "position": raw["position"].astype("int8"),
        "click": raw["click"].astype("int8"),
        "propensity": raw["propensity"],
    })
    for col in [*USER, *ITEM_CATEGORICAL]:
        frame[col] = pd.Categorical(raw[col].astype(str), categories=sorted(raw[col].astype(str).unique()))
    frame["item_feature_0"] = raw["item_feature_0"]
    frame = frame[COLUMNS]
    assert not frame.isna().any().any()
    return frame


if __name__ == "__main__":
    _build.main(__file__, build, "bandit.parquet")
