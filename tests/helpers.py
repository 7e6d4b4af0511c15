"""Helpers shared by tests: the repository root, a bundled case read without the library, test notebooks.

Synthetic case folders come from the library (`workbench.cases.synthetic.make_case`), so that
benchmarks use the same ones without importing tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.cases.synthetic import make_case
from workbench.runner.hygiene import write_notebook as _write
from workbench.runner.notebooks import new_notebook

__all__ = ["REPO", "make_case", "raw_case", "write_case", "write_notebook"]

REPO = Path(__file__).resolve().parents[1]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """A bundled case read without the library: its case.yaml, its data, and y (True = positive class)."""
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy()


def write_case(folder: Path, spec: dict, df: pd.DataFrame) -> Path:
    """A case folder holding `df` as its data file and `spec` as its case.yaml (id: the folder's name,
    no sha256), e.g. a bundled case with some rows altered."""
    folder.mkdir(parents=True)
    df.to_parquet(folder / spec["data"], index=False)
    spec = {k: v for k, v in spec.items() if k != "sha256"} | {"id": folder.name}
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A minimal nbformat-4 notebook from (cell_type, source, tags), written to path."""
    _write(new_notebook(cells), path)
    return path
