"""Perturbations of model inputs (workbench.evaluation.perturbations): each does exactly the change it names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.cases.model import Perturbation
from workbench.evaluation import perturbations as pt

TEXTS = pd.Series(["Tasty snack, would buy again!", "Stale.", "ok", None], index=[10, 11, 12, 13])


def test_round_shift_and_scale_move_values_as_named() -> None:
    x = pd.Series([68_900.0, 69_499.0, 1_234.0, np.nan])
    np.testing.assert_array_equal(pt.round_to(x, 1000), [69_000.0, 69_000.0, 1_000.0, np.nan])
    np.testing.assert_array_equal(pt.shift(x, 2.5), x + 2.5)
    np.testing.assert_array_equal(pt.scale(x, 2), x * 2)
    with pytest.raises(ValueError, match="unit must be positive"):
        pt.round_to(x, 0)


def test_swap_never_keeps_a_value_and_draws_levels_by_their_frequency() -> None:
    train = pd.Series(["a"] * 600 + ["b"] * 300 + ["c"] * 100)
    x = pd.Series(["a"] * 5000, index=np.arange(5000) + 7)
    out = pt.swap(x, train, np.random.default_rng(0))
    assert out.index.equals(x.index) and (out != "a").all()
    share_b = (out == "b").mean()
    assert share_b == pytest.approx(0.75, abs=0.03), "b is three times as frequent as c among the other levels"
    binary = pt.swap(pd.Series([1, 2, 2, 1]), pd.Series([1, 2]), np.random.default_rng(1))
    assert binary.tolist() == [2, 1, 1, 2], "two levels: swapping is flipping"


def test_swap_leaves_missing_values_and_a_column_with_one_level_alone() -> None:
    out = pt.swap(pd.Series(["a", None, "a"]), pd.Series(["a", "a"]), np.random.default_rng(0))
    assert out.tolist()[0] == "a" and out.tolist()[1] is None
    cat = pd.Series(pd.Categorical(["x", "y"], categories=["x", "y", "unused"]))
    assert set(pt.swap(cat, cat, np.random.default_rng(0))) == {"x", "y"}, "an unused category is never drawn"


def test_typos_swap_two_adjacent_letters_in_the_chosen_share_of_long_words() -> None:
    rng = np.random.default_rng(0)
    assert pt.typos(TEXTS, 0.0, rng).tolist() == ["Tasty snack, would buy again!", "Stale.", "ok", ""]
    every = pt.typos(TEXTS, 1.0, rng)
    words, typed = TEXTS[10].split(), every[10].split()
    for w, t in zip(words, typed):
        core = w.strip(",!")
        if len(core) >= 4:
            assert t != w and sorted(t) == sorted(w) and t[0] == w[0], "a typo keeps the letters and the first one"
        else:
            assert t == w
    many = pd.Series(["banana cherry orange lemon grape"] * 400)
    changed = np.mean([a != b for s, t in zip(many, pt.typos(many, 0.1, rng)) for a, b in zip(s.split(), t.split())])
    assert changed == pytest.approx(0.1, abs=0.02)


def test_append_and_punctuation_change_only_the_end() -> None:
    assert pt.append(TEXTS, " It came by post. ").tolist() == [
        "Tasty snack, would buy again! It came by post.", "Stale. It came by post.", "ok It came by post.", " It came by post."]
    assert pt.punctuation(TEXTS).tolist() == ["Tasty snack, would buy again", "Stale", "ok.", "."]


def test_noise_has_the_requested_spread_and_blank_loses_the_requested_share() -> None:
    rng = np.random.default_rng(3)
    x = pd.Series(np.zeros(20_000))
    assert pt.noise(x, 2.0, rng).std() == pytest.approx(2.0, rel=0.03)
    assert pt.noise(x, 0.0, rng).equals(x)
    lost = pt.blank(pd.Series(np.ones(20_000)), 0.2, rng)
    assert lost.isna().mean() == pytest.approx(0.2, abs=0.01)
    cats = pt.blank(pd.Series(["a"] * 1000), 0.5, rng, kind="categorical")
    texts = pt.blank(pd.Series(["words"] * 1000), 0.5, rng, kind="text")
    assert cats.isna().mean() == pytest.approx(0.5, abs=0.06) and set(texts) == {"", "words"}


def test_apply_runs_a_declared_perturbation_and_recomputes_text_lengths() -> None:
    frame = pd.DataFrame({"review": ["Great tea.", "Bad"], "chars": [10, 3], "state": ["CA", "NY"]})
    out = pt.apply(frame, Perturbation("append", "review", "p", {"text": "Fine."}), train=frame,
                   rng=np.random.default_rng(0), lengths={"chars": "review"})
    assert out["review"].tolist() == ["Great tea. Fine.", "Bad Fine."] and out["chars"].tolist() == [16, 9]
    assert frame["review"].tolist() == ["Great tea.", "Bad"], "the input is left as it was"
    swapped = pt.apply(frame, Perturbation("swap", "state", "s"), train=frame, rng=np.random.default_rng(0))
    assert swapped["state"].tolist() == ["NY", "CA"]
    with pytest.raises(ValueError, match="unknown perturbation kind"):
        pt.apply(frame, Perturbation("melt", "state", "m"), train=frame, rng=np.random.default_rng(0))
