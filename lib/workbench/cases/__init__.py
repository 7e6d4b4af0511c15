"""Case studies: what a case declares (case.yaml), how it is validated, found and loaded."""

from workbench.cases.loading import check_case, find_case, list_cases, load_case
from workbench.cases.model import KINDS, Case, Costs, Fairness, Interactions, Serving, Slice

__all__ = ["KINDS", "Case", "Costs", "Fairness", "Interactions", "Serving", "Slice", "check_case", "find_case",
           "list_cases", "load_case"]
