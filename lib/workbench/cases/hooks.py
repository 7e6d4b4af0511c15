"""Case knowledge that is code: modules a case folder may bring, loaded by name.

A case folder may hold small Python modules that the library calls instead of hard-coding case
knowledge. Today there is one hook:

- `labelling.py` defining `labelling_functions(case)`: the case's hand-written labelling functions
  (a list of `workbench.labelling.lfs.LabellingFunction`), used by 01_labelling's `expert` set.

A module is imported from its file (not from sys.path), once per process and version of the file,
under a name unique to its folder and content, so two cases never share one and an edit is seen.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from workbench.errors import CaseError

if TYPE_CHECKING:
    from workbench.cases.model import Case

__all__ = ["HOOKS", "case_module"]

HOOKS = ("labelling",)  # the module names a case folder may bring


def case_module(case: Case, name: str) -> ModuleType | None:
    """The case's `<name>.py` module, imported from its folder, or None when the case has none."""
    if name not in HOOKS:
        raise ValueError(f"unknown case hook {name!r} (known: {', '.join(HOOKS)})")
    path = case.folder / f"{name}.py"
    if not path.is_file():
        return None
    # keyed by folder and content: an edited file is imported afresh, an unchanged one only once
    key = hashlib.sha256(str(path.resolve()).encode() + b"\0" + path.read_bytes()).hexdigest()[:12]
    module_name = f"workbench_case_{case.id}_{name}_{key}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CaseError(str(case.folder), [f"{path}: cannot be imported as a Python module"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[module_name]
        raise CaseError(str(case.folder), [f"{path}: failed to import ({type(e).__name__}: {e})"]) from e
    return module
