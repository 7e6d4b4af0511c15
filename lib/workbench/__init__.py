"""The ML systems design workbench's helper library.

Notebooks use a small surface: `load_case` for a validated case study, and `record` / `decide` to
record results and the decision so that runs and sweeps can collect them. Importing this package
has no side effects (no seeding, logging set-up, directories or network).
"""

from workbench.cases import Case, load_case
from workbench.errors import CaseError, ParameterError, RunError, WorkbenchError
from workbench.records import decide, output_dir, record, recorded

__all__ = [
    "Case",
    "CaseError",
    "ParameterError",
    "RunError",
    "WorkbenchError",
    "decide",
    "load_case",
    "output_dir",
    "record",
    "recorded",
]
__version__ = "0.1.0"
