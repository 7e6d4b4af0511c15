"""Shared fixtures: a tiny synthetic case study, an isolated runs folder, and small notebooks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench import paths
from workbench.cases import sha256_file

REPO = Path(__file__).resolve().parents[1]


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """A bundled case read without the library: its case.yaml, its data, and y (True = positive class)."""
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy()


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A minimal nbformat-4 notebook from (cell_type, source, tags)."""
    nb_cells = []
    for i, (kind, source, tags) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"t{i}", "metadata": {"tags": tags}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        nb_cells.append(cell)
    nb = {"cells": nb_cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                          "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))
    return path


def make_case(folder: Path, *, n: int = 400, seed: int = 0, notebooks: list[str] | None = None,
              **overrides) -> Path:
    """A small valid binary case (numeric, categorical and time columns) with its sha256."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    when = pd.date_range("2024-01-01", periods=n, freq="h")
    p = 1 / (1 + np.exp(-(2 * x + (colour == "red") - 1)))
    df = pd.DataFrame({"id": np.arange(n), "when": when, "x": x, "colour": colour,
                       "label": np.where(rng.random(n) < p, "yes", "no")})
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec = {
        "id": folder.name, "title": "Tiny", "question": "Is it yes?", "data": "data.parquet",
        "sha256": sha256_file(folder / "data.parquet"), "task": "binary", "target": "label",
        "positive_class": "yes", "time_column": "when", "features": {"x": "numeric", "colour": "categorical"},
        "identifiers": ["id"], "sensitive": [], "text_column": None, "leaky": [],
        "costs": {"unit": "USD", "false_positive": 1, "false_negative": 4},
        "label_delay_days": None, "slices": [{"column": "colour"}, {"column": "x", "bins": [-10, 0, 10]}],
        "notebooks": notebooks if notebooks is not None else ["00_framing"],
    }
    spec.update(overrides)
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


@pytest.fixture
def tiny_case(tmp_path: Path) -> Path:
    return make_case(tmp_path / "cases" / "tiny")


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated runs folder (WORKBENCH_RUNS)."""
    folder = tmp_path / "runs"
    monkeypatch.setenv(paths.RUNS_ENV, str(folder))
    return folder


@pytest.fixture
def notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private notebooks folder holding a copy of the real notebooks plus small test notebooks."""
    folder = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    monkeypatch.setenv(paths.NOTEBOOKS_ENV, str(folder))
    params = ('case = "tiny"  # case study\n'
              'x = 1  # a number; range: 0..10\n'
              'mode = "a"  # a mode; one of: a, b\n'
              'fail = False  # raise in the third cell\n'
              'pause = 0.0  # seconds to sleep before recording; range: 0..60\n')
    write_notebook(folder / "98_echo.ipynb", [
        ("markdown", "# Echo\n", []),
        ("code", params, ["parameters"]),
        ("code", "import time\nimport workbench as wb\ntime.sleep(pause)\ncs = wb.load_case(case)\n"
                 "wb.record('x_squared', x * x)\nwb.record('mode', mode)\n"
                 "wb.record('rows', len(cs.frame()))\n"
                 "import os\nwb.record('cwd_is_run_folder', os.path.samefile(os.getcwd(), wb.output_dir()))\n", []),
        ("code", "if fail:\n    raise ValueError('planted failure')\nwb.decide('echo', ['x was given'], ['nothing'])\n", []),
    ])
    return folder


@pytest.fixture
def case_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebooks: Path) -> Path:
    """A cases folder on WORKBENCH_CASES holding `tiny`, which supports the test notebooks."""
    folder = tmp_path / "cases"
    make_case(folder / "tiny", notebooks=["98_echo", "00_framing"])
    monkeypatch.setenv(paths.CASES_ENV, str(folder))
    return folder
