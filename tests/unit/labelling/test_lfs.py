"""Labelling functions, the vote matrix, LF summaries and majority vote, against brute-force references."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from workbench.labelling import lfs
from workbench.labelling.lfs import ABSTAIN


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "text": ["Awful, I want a REFUND", "love it!", None, "not bad at all", "refunded? no, loved it", "meh"],
        "x": [1.0, 5.0, np.nan, 3.0, 10.0, -2.0],
        "colour": pd.Series(["red", "blue", None, "red", "green", "blue"], dtype="category"),
    })


def test_keyword_votes_exactly_where_the_lowercased_text_matches(frame: pd.DataFrame) -> None:
    lf = lfs.keyword("refund", "text", r"\brefund", 1)
    expected = [bool(re.search(r"\brefund", str(t).lower())) if t is not None else False for t in frame["text"]]
    assert lf(frame).tolist() == [1 if e else ABSTAIN for e in expected]
    assert lf(frame).dtype == np.int8


def test_threshold_compares_and_missing_values_abstain(frame: pd.DataFrame) -> None:
    for op, fn in [(">=", np.greater_equal), (">", np.greater), ("<=", np.less_equal), ("<", np.less)]:
        lf = lfs.threshold("t", "x", op, 3.0, 0)
        x = frame["x"].to_numpy()
        expected = np.where(~np.isnan(x) & fn(x, 3.0), 0, ABSTAIN)
        assert lf(frame).tolist() == expected.tolist(), op
    with pytest.raises(ValueError, match="op must be one of"):
        lfs.threshold("t", "x", "==", 3.0, 0)


def test_category_matches_values_as_text_and_missing_abstains(frame: pd.DataFrame) -> None:
    lf = lfs.category("warm", "colour", ["red", "green"], 1)
    assert lf(frame).tolist() == [1, ABSTAIN, ABSTAIN, 1, 1, ABSTAIN]
    numbers = pd.DataFrame({"month": [6, 7, 8]})
    assert lfs.category("summer", "month", [6, 7], 1)(numbers).tolist() == [1, 1, ABSTAIN]


def test_an_lf_must_vote_for_a_class_and_names_the_columns_it_misses(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="vote must be 0 or 1"):
        lfs.keyword("k", "text", "a", 2)
    with pytest.raises(KeyError, match="needs column"):
        lfs.keyword("k", "review", "a", 1)(frame)


def test_votes_stacks_one_column_per_lf_and_rejects_duplicate_names(frame: pd.DataFrame) -> None:
    fns = [lfs.keyword("a", "text", "love", 0), lfs.threshold("b", "x", ">", 2, 1)]
    L = lfs.votes(fns, frame)
    assert L.shape == (len(frame), 2)
    assert L[:, 0].tolist() == fns[0](frame).tolist() and L[:, 1].tolist() == fns[1](frame).tolist()
    with pytest.raises(ValueError, match="unique"):
        lfs.votes([fns[0], fns[0]], frame)
    with pytest.raises(ValueError, match="no labelling functions"):
        lfs.votes([], frame)


def _random_votes(n: int, polarities: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = [np.where(rng.random(n) < 0.4, v, ABSTAIN) for v in polarities]
    return np.column_stack(cols).astype("int8")


def test_summary_matches_row_by_row_counts() -> None:
    polarities = [1, 1, 0, 0, 1]
    fns = [lfs.rule(f"lf{j}", lambda df: np.zeros(len(df), bool), v, "x") for j, v in enumerate(polarities)]
    L = _random_votes(400, polarities, seed=3)
    L_dev = _random_votes(60, polarities, seed=4)
    y_dev = np.random.default_rng(5).integers(0, 2, 60)
    table = lfs.summary(fns, L, L_dev, y_dev)
    for j, lf in enumerate(fns):
        cov = ovl = con = 0
        for row in L:
            if row[j] == ABSTAIN:
                continue
            cov += 1
            others = [v for k, v in enumerate(row) if k != j and v != ABSTAIN]
            ovl += bool(others)
            con += any(v != row[j] for v in others)
        r = table.loc[lf.name]
        assert r["coverage"] == pytest.approx(cov / len(L))
        assert r["overlap"] == pytest.approx(ovl / len(L))
        assert r["conflict"] == pytest.approx(con / len(L))
        right = [y_dev[i] == lf.vote for i in range(60) if L_dev[i, j] != ABSTAIN]
        assert r["dev_votes"] == len(right)
        assert r["dev_accuracy"] == pytest.approx(np.mean(right))
        assert r["votes_for"] == ("positive" if lf.vote == 1 else "negative")


def test_summary_gives_no_dev_accuracy_to_an_lf_that_never_votes_on_the_dev_set() -> None:
    fns = [lfs.rule("never", lambda df: np.zeros(len(df), bool), 1, "x")]
    table = lfs.summary(fns, np.array([[1], [ABSTAIN]]), np.array([[ABSTAIN], [ABSTAIN]]), np.array([0, 1]))
    assert table.loc["never", "dev_votes"] == 0 and np.isnan(table.loc["never", "dev_accuracy"])


def test_majority_vote_matches_counting_votes_row_by_row() -> None:
    L = _random_votes(500, [1, 0, 1, 0, 0, 1, 1], seed=7)
    labels, share = lfs.majority_vote(L)
    for row, label, s in zip(L, labels, share):
        counts = Counter(v for v in row if v != ABSTAIN)
        if not counts:
            assert label == ABSTAIN and np.isnan(s)
            continue
        assert s == pytest.approx(counts[1] / (counts[0] + counts[1]))
        if counts[1] == counts[0]:
            assert label == ABSTAIN
        else:
            assert label == (1 if counts[1] > counts[0] else 0)
