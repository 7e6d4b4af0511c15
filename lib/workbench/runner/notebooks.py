"""Find the design-decision notebooks and read what an executed notebook holds.

Notebooks are read as plain JSON (nbformat v4) so that listing parameters or collecting results
does not pay for importing nbformat and its schema validator.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.errors import WorkbenchError
from workbench.records import MIME

__all__ = [
    "cell_source",
    "find_error",
    "list_notebooks",
    "new_notebook",
    "parameters_cell",
    "read_notebook",
    "read_records",
    "recorded_names",
    "resolve_notebook",
    "write_figures",
]


def list_notebooks() -> list[Path]:
    """The design-decision notebooks, in reading order."""
    return sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def resolve_notebook(name: str | Path) -> Path:
    """A notebook given by path, file stem ('00_framing') or number ('00')."""
    p = Path(name)
    if p.suffix == ".ipynb" and p.is_file():
        return p.resolve()
    for nb in list_notebooks():
        if str(name) in (nb.stem, nb.name, nb.stem[:2]):
            return nb
    known = ", ".join(nb.stem for nb in list_notebooks()) or "none"
    raise WorkbenchError(f"unknown notebook '{name}' (known: {known}; or give a path to an .ipynb file)")


def read_notebook(path: Path) -> dict[str, Any]:
    """A notebook's JSON, with a clear error when it is not a notebook."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WorkbenchError(f"{path}: cannot be read as a notebook ({e})") from e
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise WorkbenchError(f"{path}: is not a Jupyter notebook (no 'cells' list)")
    return nb


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parameters_cell(nb: dict[str, Any], path: Path) -> str:
    """The source of the notebook's single `parameters`-tagged cell."""
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise WorkbenchError(f"{path}: expected exactly one cell tagged 'parameters', found {len(tagged)}")
    return cell_source(tagged[0])


def _outputs(nb: dict[str, Any]):
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            yield index, output


def read_records(nb: dict[str, Any]) -> dict[str, Any]:
    """The values an executed notebook recorded with workbench.record/decide (the last one of a name wins)."""
    out: dict[str, Any] = {}
    for _, output in _outputs(nb):
        payload = output.get("data", {}).get(MIME)
        if isinstance(payload, dict) and "name" in payload:
            out[payload["name"]] = payload.get("value")
    return out


def find_error(nb: dict[str, Any]) -> dict[str, Any] | None:
    """The first error output of an executed notebook: cell index, source head, error name and value."""
    for index, output in _outputs(nb):
        if output.get("output_type") == "error":
            head = cell_source(nb["cells"][index]).strip().splitlines()[:3]
            return {
                "cell": index,
                "source": "\n".join(head),
                "ename": output.get("ename", ""),
                "evalue": output.get("evalue", ""),
            }
    return None


def write_figures(nb: dict[str, Any], folder: Path) -> list[Path]:
    """Write every PNG output of an executed notebook to folder as cell<N>_<k>.png."""
    written = []
    counts: dict[int, int] = {}
    for index, output in _outputs(nb):
        png = output.get("data", {}).get("image/png")
        if not png:
            continue
        k = counts[index] = counts.get(index, 0) + 1
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"cell{index:02d}_{k}.png"
        path.write_bytes(base64.b64decode("".join(png) if isinstance(png, list) else png))
        written.append(path)
    return written


def new_notebook(cells: list[tuple[str, str, list[str]]]) -> dict[str, Any]:
    """A minimal nbformat-4 notebook (Python 3 kernel) from (cell_type, source, tags) triples."""
    nb_cells = []
    for i, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"c{i}", "metadata": {"tags": list(tags)}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        nb_cells.append(cell)
    return {"cells": nb_cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def recorded_names(nb: dict[str, Any]) -> tuple[set[str], list[str], bool]:
    """What a notebook can record, read from its source: literal names passed to `record(...)`, regex
    patterns for f-string names, and whether some name is computed (then nothing can be ruled out).
    Each name may also appear with `_lo` and `_hi` (a value recorded with its interval)."""
    import ast
    import re

    names: set[str] = {"decision"}
    patterns: list[str] = []
    dynamic = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        lines = [line for line in cell_source(cell).splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            if not ((isinstance(func, ast.Attribute) and func.attr == "record")
                    or (isinstance(func, ast.Name) and func.id == "record")):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.update({arg.value, f"{arg.value}_lo", f"{arg.value}_hi"})
            elif isinstance(arg, ast.JoinedStr):
                parts = [re.escape(str(v.value)) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in arg.values]
                patterns.append("".join(parts) + "(?:_lo|_hi)?")
            else:
                dynamic = True
    return names, patterns, dynamic
