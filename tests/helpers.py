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

__all__ = ["REPO", "edit_yaml", "finished_runs", "make_case", "raw_case", "write_notebook"]

REPO = Path(__file__).resolve().parents[1]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """A bundled case read without the library: its case.yaml, its data, and y (True = positive class;
    for logged interactions, a reward of 1)."""
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    if spec.get("task") == "interactions":
        return spec, df, (df[spec["interactions"]["reward"]] == 1).to_numpy()
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy()


def edit_yaml(folder: Path, **changes) -> None:
    """Change top-level fields of a case folder's case.yaml (`...` as a value removes the field)."""
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    for key, value in changes.items():
        if value is ...:
            spec.pop(key)
        else:
            spec[key] = value
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A minimal nbformat-4 notebook from (cell_type, source, tags), written to path."""
    _write(new_notebook(cells), path)
    return path


def finished_runs(runs: Path, notebook: str = "*") -> list[Path]:
    """Published, finished run folders (results.json present), not temporary folders being built
    (hidden, named .tmp-...) nor failed attempts kept under failures/."""
    return sorted(p.parent for p in runs.glob(f"{notebook}/*/results.json")
                  if not p.parent.name.startswith(".") and p.parent.parent.name != "failures")
