"""Fixtures of the retraining tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.retraining.days import FEATURES, days_frame, frame_case


@pytest.fixture
def days_case(tmp_path: Path):
    df = days_frame()
    return frame_case(tmp_path / "days", df, FEATURES, leaky=["secret"]), df
