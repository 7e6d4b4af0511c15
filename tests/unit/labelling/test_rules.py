"""LF sets: the hand-written ones carry signal on their bundled case; mined ones find the rule that was planted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.helpers import make_case
from workbench.labelling import lfs, rules


@pytest.mark.parametrize("case_id", ["reviews", "lending", "flights"])
def test_every_expert_lf_is_more_accurate_than_its_class_base_rate_on_its_case(case_id: str) -> None:
    cs = wb.load_case(case_id)
    df = cs.frame()
    y = cs.labels()
    fns = rules.expert(cs)
    assert len({lf.name for lf in fns}) == len(fns) >= 5
    assert {lf.vote for lf in fns} == {0, 1}, "an LF set votes for both classes"
    L = lfs.votes(fns, df)
    for j, lf in enumerate(fns):
        fired = L[:, j] != lfs.ABSTAIN
        assert 0.005 < fired.mean() < 0.6, f"{lf.name} covers {fired.mean():.1%}"
        base = y.mean() if lf.vote == 1 else 1 - y.mean()
        z = ((y[fired] == lf.vote).mean() - base) / np.sqrt(base * (1 - base) / fired.sum())
        assert z > 2, f"{lf.name}: its accuracy is within two standard errors of its class's base rate"


def test_lf_set_falls_back_to_mined_rules_for_a_case_without_an_expert_set(tmp_path: Path) -> None:
    cs = wb.load_case(make_case(tmp_path / "tiny", n=600))
    df, y = cs.frame(), cs.labels()
    assert not rules.has_expert(cs)
    with pytest.raises(KeyError, match="has no labelling.py"):
        rules.expert(cs)
    fns, note = rules.lf_set(cs, "expert", df.iloc[:200], y[:200], df.iloc[200:])
    assert fns and "mined" in note and "no hand-written set" in note
    with pytest.raises(ValueError, match="must be one of"):
        rules.lf_set(cs, "clever", df, y, df)


def test_mined_rules_pick_the_planted_signal_in_tabular_data(tmp_path: Path) -> None:
    # make_case: P(yes) rises with x and with colour == red
    cs = wb.load_case(make_case(tmp_path / "tiny", n=2000, seed=3))
    df, y = cs.frame(), cs.labels()
    dev, pool = df.iloc[:400], df.iloc[400:]
    fns = rules.mined(cs, dev, y[:400], pool, k=4)
    assert 0 < len(fns) <= 4
    assert sum(lf.columns == ("x",) for lf in fns) <= 2, "at most two rules per column"
    x_rules = [lf for lf in fns if lf.columns == ("x",)]
    assert x_rules, "x carries most of the signal"
    for lf in x_rules:  # high x votes yes, low x votes no
        assert ("high" in lf.name) == (lf.vote == 1), lf.name
    L = lfs.votes(fns, pool)
    for j, lf in enumerate(fns):  # the rules generalise to the pool
        fired = L[:, j] != lfs.ABSTAIN
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
    folder = make_case(tmp_path / "texty", n=10)
    frame.to_parquet(folder / "texts.parquet")
    import yaml

    spec = yaml.safe_load((folder / "case.yaml").read_text())
    spec.update(data="texts.parquet", sha256=None, target="label", positive_class="bad", time_column=None,
                features={"review": "text"}, identifiers=[], text_column="review", slices=[])
    (folder / "case.yaml").write_text(yaml.safe_dump(spec))
    cs = wb.load_case(folder)
    fns = rules.mined(cs, cs.frame(), cs.labels(), cs.frame(), k=5)
    by_name = {lf.name: lf.vote for lf in fns}
    assert by_name.get("word_awful") == 1 and by_name.get("word_superb") == 0
    assert not set(by_name) & {f"word_{w}" for w in filler}


def test_a_users_case_brings_its_own_labelling_functions_through_its_labelling_py(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "mine", n=300)
    (folder / "labelling.py").write_text(
        "from workbench.labelling.lfs import threshold\n"
        "def labelling_functions(case):\n"
        "    return [threshold('big_x', 'x', '>=', 0.5, 1), threshold('small_x', 'x', '<', -0.5, 0)]\n")
    cs = wb.load_case(folder)
    assert rules.has_expert(cs)
    fns, note = rules.lf_set(cs, "expert", cs.frame().iloc[:100], cs.labels()[:100], cs.frame())
    assert [f.name for f in fns] == ["big_x", "small_x"] and "2 hand-written" in note


def test_a_broken_labelling_py_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "broken", n=100)
    (folder / "labelling.py").write_text("def labelling_functions(case):\n    return ['not a function']\n")
    with pytest.raises(TypeError, match=r"labelling\.py: labelling_functions\(case\) must return"):
        rules.expert(wb.load_case(folder))
    (folder / "labelling.py").write_text("this is not python\n")
    with pytest.raises(wb.CaseError, match="labelling.py: failed to import"):
        rules.has_expert(wb.load_case(folder))
