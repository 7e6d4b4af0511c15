"""The model card (workbench.fairness.modelcard) shows the run's recorded numbers and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import load_case
from workbench.fairness.modelcard import KEYS, fmt, model_card, write_model_card


def records() -> dict:
    group = {"group": "red", "rows": 1234, "small": False, "selection_rate": 0.4321, "selection_rate_lo": 0.4012,
             "selection_rate_hi": 0.4655, "tpr": 0.8123, "tpr_lo": 0.78, "tpr_hi": 0.84, "fpr": 0.1987,
             "fpr_lo": 0.17, "fpr_hi": 0.23, "precision": 0.7, "precision_lo": 0.65, "precision_hi": 0.75,
             "calibration_gap": -0.0123, "calibration_gap_lo": -0.02, "calibration_gap_hi": -0.004,
             "cost_per_1000": 187.25, "cost_per_1000_lo": 170.5, "cost_per_1000_hi": 205.75}
    tiny = {**group, "group": "blue", "rows": 7, "small": True}
    return {"model": "LightGBM (100 trees)", "attribute": "colour", "criterion": "equalized_odds",
            "disparity_limit": 0.05, "threshold": 0.4567, "n_fit": 1000, "n_val": 500, "n_test": 2000,
            "n_sampled": 3500, "split_kind": "time", "test_cost": 181.234, "test_cost_lo": 170.1, "test_cost_hi": 192.9,
            "test_roc_auc": 0.8765, "mitigation": "per-group thresholds", "mitigation_cost": 12.34,
            "mitigation_cost_lo": 8.76, "mitigation_cost_hi": 15.43, "disparity_before": 0.1432,
            "disparity_before_lo": 0.101, "disparity_before_hi": 0.187, "disparity_after": 0.0612,
            "disparity_after_lo": 0.041, "disparity_after_hi": 0.089, "group_metrics": [group, tiny],
            "proxy_auc": {"colour": 0.7321}, "disparity_unaware": 0.1777, "disparity_unaware_lo": 0.13,
            "disparity_unaware_hi": 0.2, "small_groups": ["blue"],
            "decision": {"choice": "mitigate with per-group thresholds", "evidence": ["e"],
                         "would_change": ["a looser limit"]}}


def test_the_model_card_contains_the_recorded_numbers(tiny_case: Path, tmp_path: Path) -> None:
    cs = load_case(tiny_case)
    r = records()
    path = write_model_card(cs, r, tmp_path)
    card = path.read_text()
    assert path.name == "model_card.md" and card.startswith(f"# Model card: {cs.title}")
    for text in ["181.2 [170.1, 192.9]", "12.3 [8.8, 15.4]", "0.143 [0.101, 0.187]", "0.061 [0.041, 0.089]",
                 "0.178 [0.130, 0.200]", "0.876", "0.457", "colour: 0.732", "0.812 [0.780, 0.840]",
                 "0.199 [0.170, 0.230]", "187.2 [170.5, 205.8]", "blue (too small to rank)", "1,234",
                 "per-group thresholds", "a looser limit", cs.question, "3,500 rows sampled", "1,000 rows to fit"]:
        assert text in card, text
    assert fmt(r, "test_roc_auc") == "0.876" and fmt(r, "missing") == "n/a"
    assert "Thresholds per group" not in card, "no thresholds recorded, none shown"
    r["group_thresholds"] = {"red": 0.4125, "green": None}
    card = model_card(cs, r)
    assert "Thresholds per group of `colour`: red: 0.412, green: no one flagged" in card


def test_a_card_from_incomplete_records_names_what_is_missing(tiny_case: Path) -> None:
    r = records()
    del r["mitigation_cost"], r["proxy_auc"]
    with pytest.raises(ValueError, match="did not record mitigation_cost, proxy_auc"):
        model_card(load_case(tiny_case), r)
    assert set(records()) >= set(KEYS)
