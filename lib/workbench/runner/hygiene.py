"""Notebook hygiene and editions: check that committed notebooks are clean, clean them, export student editions.

A committed notebook has no execution counts, no outputs and no widget state, except cells tagged
`nbval-check-output` (small, deterministic outputs that `pytest --nbval-lax` compares). It has one
`parameters` cell and the standard sections: a `# ` title, `## Decision` and `## Try next`.
A student edition replaces every cell tagged `solution` with a placeholder that still runs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.runner.applicability import applicability
from workbench.runner.notebooks import cell_source

__all__ = [
    "CHECK_TAG",
    "SOLUTION_TAG",
    "clean",
    "problems",
    "student_edition",
    "write_notebook",
]

CHECK_TAG = "nbval-check-output"
SOLUTION_TAG = "solution"
SECTIONS = ("## Decision", "## Try next")
CODE_PLACEHOLDER = "# Exercise: write your answer here (the instructor edition has a worked solution).\n"
MARKDOWN_PLACEHOLDER = "*Your answer here.*\n"


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def problems(nb: dict[str, Any]) -> list[str]:
    """Everything that keeps a committed notebook from being clean, one message each."""
    out = []
    cells = nb.get("cells", [])
    for i, cell in enumerate(cells):
        checked = CHECK_TAG in _tags(cell)
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs") and not checked:
            out.append(f"cell {i}: has outputs (clear them, or tag the cell '{CHECK_TAG}')")
        if cell.get("execution_count") is not None and not checked:
            out.append(f"cell {i}: has an execution count")
        if checked and not cell.get("outputs"):
            out.append(f"cell {i}: is tagged '{CHECK_TAG}' but has no output to check")
    if "widgets" in nb.get("metadata", {}):
        out.append("metadata: has widget state")
    n_params = sum("parameters" in _tags(c) for c in cells)
    if n_params != 1:
        out.append(f"has {n_params} cells tagged 'parameters' (expected exactly 1)")
    markdown = [cell_source(c) for c in cells if c.get("cell_type") == "markdown"]
    if not cells or cells[0].get("cell_type") != "markdown" or not cell_source(cells[0]).startswith("# "):
        out.append("the first cell must be markdown starting with a '# ' title")
    elif "**Question:**" not in cell_source(cells[0]):
        out.append("the title cell must state the **Question:**")
    for section in SECTIONS:
        if not any(line.strip() == section for text in markdown for line in text.splitlines()):
            out.append(f"has no '{section}' section")
    try:
        applicability(nb, "notebook", strict=True)
    except WorkbenchError as e:
        out.append(str(e).removeprefix("notebook: "))
    return out


def clean(nb: dict[str, Any]) -> dict[str, Any]:
    """A copy without execution counts, outputs or widget state (tagged check cells keep theirs)."""
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        if CHECK_TAG in _tags(cell):
            cell["execution_count"] = 1
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = 1
        else:
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def student_edition(nb: dict[str, Any]) -> dict[str, Any]:
    """The student edition: solution cells become placeholders, all outputs are cleared."""
    nb = clean(nb)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if SOLUTION_TAG in _tags(cell):
            placeholder = CODE_PLACEHOLDER if cell.get("cell_type") == "code" else MARKDOWN_PLACEHOLDER
            cell["source"] = [placeholder]
            cell["metadata"]["tags"] = [t for t in _tags(cell) if t != SOLUTION_TAG] + ["exercise"]
    return nb


def write_notebook(nb: dict[str, Any], path: Path) -> None:
    """Write a notebook as the repository stores them (indent 1, UTF-8, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
