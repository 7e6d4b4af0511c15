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

__all__ = ["REPO", "at_declared_minimum", "make_case", "raw_case", "write_notebook"]

REPO = Path(__file__).resolve().parents[1]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """A bundled case read without the library: its case.yaml, its data, and y (True = positive class)."""
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy()


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A minimal nbformat-4 notebook from (cell_type, source, tags), written to path."""
    _write(new_notebook(cells), path)
    return path


def at_declared_minimum(notebook: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A feature x and labels for exactly the notebook's declared min_rows rows, min_class_rows of them positive.

    x carries signal (a positive's x tends to be high); the metadata is read from the .ipynb, not the library.
    """
    import json

    meta = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())["metadata"]["workbench"]
    n, rare = meta["min_rows"], meta["min_class_rows"]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    score = x + rng.normal(size=n)
    return x, score >= np.sort(score)[-rare]
