"""LF sets: the hand-written ones carry signal on their bundled case; mined ones find the rule that was planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench import heuristics, labelling

from .conftest import make_case


@pytest.mark.parametrize("case_id", ["reviews", "lending", "flights"])
def test_every_expert_lf_is_more_accurate_than_its_class_base_rate_on_its_case(case_id: str) -> None:
    cs = wb.load_case(case_id)
    df = cs.frame()
    y = cs.labels()
    lfs = heuristics.expert(cs)
    assert len({lf.name for lf in lfs}) == len(lfs) >= 5
    assert {lf.vote for lf in lfs} == {0, 1}, "an LF set votes for both classes"
    L = labelling.votes(lfs, df)
    for j, lf in enumerate(lfs):
        fired = L[:, j] != labelling.ABSTAIN
        assert 0.005 < fired.mean() < 0.6, f"{lf.name} covers {fired.mean():.1%}"
        base = y.mean() if lf.vote == 1 else 1 - y.mean()
        z = ((y[fired] == lf.vote).mean() - base) / np.sqrt(base * (1 - base) / fired.sum())
        assert z > 2, f"{lf.name}: its accuracy is within two standard errors of its class's base rate"


def test_lf_set_falls_back_to_mined_rules_for_a_case_without_an_expert_set(tmp_path: Path) -> None:
    cs = wb.load_case(make_case(tmp_path / "tiny", n=600))
    df, y = cs.frame(), cs.labels()
    assert not heuristics.has_expert(cs)
    with pytest.raises(KeyError, match="no expert labelling functions"):
        heuristics.expert(cs)
    lfs, note = heuristics.lf_set(cs, "expert", df.iloc[:200], y[:200], df.iloc[200:])
    assert lfs and "mined" in note and "no hand-written set" in note
    with pytest.raises(ValueError, match="must be one of"):
        heuristics.lf_set(cs, "clever", df, y, df)


def test_mined_rules_pick_the_planted_signal_in_tabular_data(tmp_path: Path) -> None:
    # make_case: P(yes) rises with x and with colour == red
    cs = wb.load_case(make_case(tmp_path / "tiny", n=2000, seed=3))
    df, y = cs.frame(), cs.labels()
    dev, pool = df.iloc[:400], df.iloc[400:]
    lfs = heuristics.mined(cs, dev, y[:400], pool, k=4)
    assert 0 < len(lfs) <= 4
    assert sum(lf.columns == ("x",) for lf in lfs) <= 2, "at most two rules per column"
    x_rules = [lf for lf in lfs if lf.columns == ("x",)]
    assert x_rules, "x carries most of the signal"
    for lf in x_rules:  # high x votes yes, low x votes no
        assert ("high" in lf.name) == (lf.vote == 1), lf.name
    L = labelling.votes(lfs, pool)
    for j, lf in enumerate(lfs):  # the rules generalise to the pool
        fired = L[:, j] != labelling.ABSTAIN
        base = y[400:].mean() if lf.vote == 1 else 1 - y[400:].mean()
        assert (y[400:][fired] == lf.vote).mean() > base, lf.name


def test_mined_rules_find_planted_keywords_in_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    y = rng.random(n) < 0.4
    filler = ["the", "box", "arrived", "today", "coffee", "tastes", "fine", "price"]
    words = [" ".join(rng.choice(filler, 6)) + (" awful" if yi and rng.random() < 0.7 else "")
             + (" superb" if not yi and rng.random() < 0.5 else "") for yi in y]
    frame = pd.DataFrame({"review": words, "label": np.where(y, "bad", "good")})
    frame.to_parquet(tmp_path / "data.parquet")
    folder = make_case(tmp_path / "texty", n=10)
    import yaml

    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec.update(data="../data.parquet", sha256=None, target="label", positive_class="bad", time_column=None,
                features={"review": "text"}, identifiers=[], text_column="review", slices=[])
    (folder / "case.yaml").write_text(yaml.safe_dump(spec))
    cs = wb.load_case(folder)
    lfs = heuristics.mined(cs, cs.frame(), cs.labels(), cs.frame(), k=5)
    by_name = {lf.name: lf.vote for lf in lfs}
    assert by_name.get("word_awful") == 1 and by_name.get("word_superb") == 0
    assert not set(by_name) & {f"word_{w}" for w in filler}
