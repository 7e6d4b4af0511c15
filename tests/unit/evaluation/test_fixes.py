"""Fixes for failed behavioural tests (workbench.evaluation.fixes): augmentation and how much a dropped attribute leaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_case
from workbench.cases import load_case
from workbench.evaluation import fixes
from workbench.evaluation.behaviour import BehaviourTest
from workbench.fileio import sha256_file


def test_augment_adds_one_perturbed_copy_of_each_row_with_its_label() -> None:
    rows = pd.DataFrame({"t": [f"r{i}" for i in range(7)]})
    y = np.arange(7) % 2
    tests = [BehaviourTest("a", "INV", "", "t", perturb=lambda r: r.assign(t=r["t"] + " A")),
             BehaviourTest("b", "INV", "", "t", perturb=lambda r: r.assign(t=r["t"] + " B"))]
    X, yy = fixes.augment(rows, y, tests)
    assert len(X) == 14 and X["t"].iloc[:7].tolist() == rows["t"].tolist()
    assert sorted(X["t"].iloc[7:]) == sorted(["r0 A", "r2 A", "r4 A", "r6 A", "r1 B", "r3 B", "r5 B"])
    labels = dict(zip(X["t"], yy))
    assert all(labels[f"r{i} {'A' if i % 2 == 0 else 'B'}"] == y[i] for i in range(7)), "a copy keeps its row's label"
    with pytest.raises(ValueError, match="at least one test"):
        fixes.augment(rows, y, [])


def test_proxy_strength_finds_an_attribute_the_other_features_encode(tmp_path: Path) -> None:
    import yaml

    folder = make_case(tmp_path / "proxy", n=3000, sensitive=["colour"])
    df = pd.read_parquet(folder / "data.parquet")
    rng = np.random.default_rng(0)
    df["colour"] = rng.choice(["red", "green", "blue"], len(df), p=[0.5, 0.25, 0.25])
    df["x"] = np.where(df["colour"] == "red", 2.0, 0.0) + rng.normal(0, 0.5, len(df))  # x gives red away
    df.to_parquet(folder / "data.parquet", index=False)
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    (folder / "case.yaml").write_text(yaml.safe_dump({**spec, "sha256": sha256_file(folder / "data.parquet")}, sort_keys=False))
    case = load_case(folder)
    frame = case.frame()
    auc, level = fixes.proxy_strength(case, frame.iloc[:2000], frame.iloc[2000:], "colour", lgbm_trees=30)
    assert level == "red" and auc > 0.95, "the most frequent level, told apart by x"
    shuffled = frame.assign(x=rng.permutation(frame["x"].to_numpy()))
    blind, _ = fixes.proxy_strength(case, shuffled.iloc[:2000], shuffled.iloc[2000:], "colour", lgbm_trees=30)
    assert abs(blind - 0.5) < 0.06, "features that carry nothing of it tell it apart no better than chance"
