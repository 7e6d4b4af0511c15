"""A sweep spec: which notebook, cases, seeds and parameter grid; read, checked and expanded into requests.

A sweep spec (YAML):

    notebook: 00_framing          # path, stem or number
    cases: [flights]              # one or more case studies
    seeds: [0, 1, 2]              # repeats: each sets the parameter `seed` (optional)
    fixed: {lgbm_trees: 100}      # the same for every run (optional)
    grid:                         # the cartesian product of these values (optional)
      max_train_rows: [5000, 20000, 60000]
    runs:                         # explicit parameter sets, added to the grid (optional)
      - {max_train_rows: 1000, lgbm_trees: 50}
    plots:                        # recorded values (y) against a parameter (x), seeds as a band
      - {x: max_train_rows, y: [lightgbm_roc_auc, logistic_roc_auc]}

Each run is an ordinary run folder (runs/<notebook>/<case>-<hash>), so a run that finished with the
same notebook, data, parameters and library is not redone. The sweep's own folder
(runs/sweeps/<name>/) holds the lock, the table (parquet and CSV), the plots and index.html.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.fileio import read_yaml_mapping, shown

__all__ = ["KEYS", "NAME", "Spec", "expand", "load_spec"]

KEYS = {"notebook", "cases", "seeds", "fixed", "grid", "runs", "plots", "name"}
NAME = re.compile(r"[a-z0-9][a-z0-9_]*")  # a sweep's folder name: the rule for case ids


@dataclass
class Spec:
    """A validated sweep spec."""

    name: str
    notebook: str
    cases: list[str]
    seeds: list[int] | None
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]
    runs: list[dict[str, Any]]
    plots: list[dict[str, Any]] = field(default_factory=list)

    def digest(self) -> str:
        """A hash of what the spec asks for (not of its file's formatting): names the outputs it covers."""
        body = {k: v for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def load_spec(path: str | Path) -> Spec:
    """Read and check a sweep spec file; every problem is listed in one error."""
    raw = read_yaml_mapping(path, "sweep spec")
    path = Path(path)
    problems = [f"unknown key '{k}' (expected: {', '.join(sorted(KEYS))})" for k in raw if k not in KEYS]
    if not isinstance(raw.get("notebook"), str):
        problems.append("'notebook' must name one notebook")
    cases = raw.get("cases")
    cases = [cases] if isinstance(cases, str) else cases
    if not (isinstance(cases, list) and cases and all(isinstance(c, str) for c in cases)):
        problems.append("'cases' must be a case id or a non-empty list of them")
    seeds = raw.get("seeds")
    if seeds is not None and not (isinstance(seeds, list) and seeds and all(type(s) is int for s in seeds)):
        problems.append("'seeds' must be a non-empty list of integers")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        problems.append("'grid' must map parameter names to non-empty lists of values")
    runs = raw.get("runs") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        problems.append("'runs' must be a list of parameter mappings")
    fixed = raw.get("fixed") or {}
    if not isinstance(fixed, dict):
        problems.append("'fixed' must map parameter names to values")
    plots = raw.get("plots") or []
    for i, p in enumerate(plots if isinstance(plots, list) else [None]):
        if not (isinstance(p, dict) and isinstance(p.get("x"), str) and p.get("y")):
            problems.append(f"plots[{i}] must have 'x' (a parameter) and 'y' (recorded values)")
    name = raw.get("name")
    if name is None:
        name = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()).strip("_") or "sweep"
    if not (isinstance(name, str) and NAME.fullmatch(name)):
        problems.append(f"'name' {shown(name)} must be lower-case letters, digits and underscores (it names the "
                        "sweep's folder under runs/sweeps/)")
    if problems:
        raise WorkbenchError(f"{path}: invalid sweep spec:\n" + "\n".join(f"  - {p}" for p in problems))
    plots = [{"x": p["x"], "y": [p["y"]] if isinstance(p["y"], str) else list(p["y"])} for p in plots]
    return Spec(str(name), raw["notebook"], [str(c) for c in cases or []], seeds, fixed, grid,
                runs, plots)


def expand(spec: Spec) -> list[dict[str, Any]]:
    """Every run's requested parameters: cases x seeds x (grid product + explicit runs), in order."""
    names = list(spec.grid)
    combos = [dict(zip(names, values)) for values in itertools.product(*spec.grid.values())] if names else []
    combos += [dict(r) for r in spec.runs]
    combos = combos or [{}]
    out = []
    for case in spec.cases:
        seeds: list[int | None] = list(spec.seeds) if spec.seeds else [None]
        for seed in seeds:
            for combo in combos:
                request = {**spec.fixed, **combo, "case": case}
                if seed is not None:
                    request["seed"] = seed
                if request not in out:
                    out.append(request)
    return out


