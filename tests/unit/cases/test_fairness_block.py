"""The optional `fairness` block of case.yaml: read into `Case.fairness`, and checked."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_case
from workbench.cases import Fairness, check_case, load_case


def test_a_fairness_block_is_read_and_a_case_without_one_has_none(tmp_path: Path) -> None:
    folder = make_case(tmp_path / "fair", sensitive=["colour"],
                       fairness={"criterion": "equal_opportunity", "favourable": "no", "limit": 0.1,
                                 "note": "a yes  harms\n the person"})
    assert load_case(folder).fairness == Fairness("equal_opportunity", "no", 0.1, "a yes harms the person")
    assert load_case(make_case(tmp_path / "plain")).fairness is None


def test_every_problem_of_a_fairness_block_is_reported(tmp_path: Path) -> None:
    bad = make_case(tmp_path / "bad", sensitive=[],
                    fairness={"criterion": "fairness_through_luck", "limit": 2, "weight": 1})
    text = "\n".join(check_case(bad))
    assert "field 'fairness.criterion': expected one of demographic_parity, equal_opportunity, equalized_odds" in text
    assert "field 'fairness.limit': expected a difference between rates, from 0 to 1, got 2" in text
    assert "field 'fairness': unknown keys ['weight']" in text
    assert "field 'fairness': needs `sensitive` attributes" in text
    opportunity = make_case(tmp_path / "opp", sensitive=["colour"], fairness={"criterion": "equal_opportunity"})
    assert any("fairness.favourable" in p and "equal_opportunity needs" in p for p in check_case(opportunity))
    typo = make_case(tmp_path / "typo", sensitive=["colour"],
                     fairness={"criterion": "equal_opportunity", "favourable": "nope"})
    assert any("field 'fairness.favourable': 'nope' is not a value of target 'label'" in p for p in check_case(typo))
