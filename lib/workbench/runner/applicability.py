"""When a notebook applies to a case: what it declares it needs, and the reasons it does not apply.

Each notebook declares in its metadata (`"workbench"` in the .ipynb's top-level metadata):

    {"section": "monitoring",           # where it goes in the design review (SECTIONS, in the book's order)
     "requires": ["time_column"],       # case facts it needs (REQUIREMENTS)
     "tasks": ["binary"],               # the case tasks it handles
     "min_rows": 2000,                  # fewer rows than this and its decision would mean nothing
     "min_class_rows": 50,              # the same for the rarer class of a binary target
     "min_days": 60}                    # distinct calendar days in the time column (replays by day)

The runner checks these before any kernel starts and refuses a case that does not meet them,
saying what is missing and what to add to case.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.cases import Case

__all__ = ["REQUIREMENTS", "SECTIONS", "Applicability", "applicability", "has_fact", "why_not"]

# The design review's sections, in the order the book builds a system.
SECTIONS = ("problem", "labels", "features", "model", "deployment", "monitoring", "experiments", "fairness")
# Case facts a notebook may require, and what a user adds to case.yaml to provide each one.
REQUIREMENTS = {
    "time_column": "a `time_column` (when each row happened)",
    "text_column": "a `text_column` (a free-text feature)",
    "sensitive": "`sensitive` attributes (columns to check fairness on)",
    "expectations": "an `expectations` block (monotone directions, invariances, examples)",
    "serving": "a `serving` block (traffic, latency budget, compute price)",
    "retrain_cost": "`costs.retrain` (what one training run costs)",
}


@dataclass(frozen=True)
class Applicability:
    """What a notebook needs from a case."""

    section: str
    requires: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ("binary",)
    min_rows: int = 0
    min_class_rows: int = 0
    min_days: int = 0  # distinct calendar days the time column must hold (a replay by day needs days)


def applicability(nb: dict[str, Any], path: Path | str, *, strict: bool = False) -> Applicability:
    """The notebook's declared applicability (its `workbench` metadata), checked.

    A notebook without the metadata (e.g. a user's own) applies to any binary case and goes last in
    the design review (section "other"); `strict` (the hygiene check of committed notebooks) refuses it.
    """
    meta = nb.get("metadata", {}).get("workbench")
    if meta is None and not strict:
        return Applicability("other")
    if not isinstance(meta, dict):
        raise WorkbenchError(f"{path}: notebook metadata has no 'workbench' mapping (section, requires, "
                             "tasks, min_rows, min_class_rows)")
    problems = []
    section = meta.get("section")
    if section not in SECTIONS:
        problems.append(f"'section' must be one of {', '.join(SECTIONS)}, got {section!r}")
    requires = meta.get("requires", [])
    if not isinstance(requires, list) or any(r not in REQUIREMENTS for r in requires):
        problems.append(f"'requires' must be a list drawn from {', '.join(REQUIREMENTS)}, got {requires!r}")
    tasks = meta.get("tasks", ["binary"])
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        problems.append(f"'tasks' must be a non-empty list of task names, got {tasks!r}")
    for key in ("min_rows", "min_class_rows", "min_days"):
        value = meta.get(key, 0)
        if type(value) is not int or value < 0:
            problems.append(f"'{key}' must be a whole number >= 0, got {value!r}")
    unknown = set(meta) - {"section", "requires", "tasks", "min_rows", "min_class_rows", "min_days"}
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    if problems:
        raise WorkbenchError(f"{path}: notebook metadata 'workbench': " + "; ".join(problems))
    return Applicability(str(section), tuple(requires), tuple(tasks), int(meta.get("min_rows", 0)),
                         int(meta.get("min_class_rows", 0)), int(meta.get("min_days", 0)))


def has_fact(case: Case, fact: str) -> bool:
    """Whether the case declares a fact (a non-empty time_column, text_column, sensitive, ... field)."""
    if fact == "retrain_cost":
        return case.costs is not None and case.costs.retrain is not None
    return bool(getattr(case, fact, None))


def why_not(case: Case, app: Applicability, notebook: str) -> list[str]:
    """Every reason the notebook does not apply to the case (empty when it applies)."""
    reasons = []
    if case.task not in app.tasks:
        reasons.append(f"{notebook} handles task {', '.join(app.tasks)}; case '{case.id}' is task '{case.task}'")
    for fact in app.requires:
        if not has_fact(case, fact):
            reasons.append(f"{notebook} needs {REQUIREMENTS[fact]}; case '{case.id}' declares none (add it to case.yaml)")
    if case.rows and app.min_days and case.time_column and case.days < app.min_days:
        reasons.append(f"{notebook} replays time day by day and needs at least {app.min_days:,} distinct days in the "
                       f"time column; case '{case.id}' has {case.days:,} (its time is coarser, e.g. a survey year)")
    if case.rows:
        n = case.rows
        if n < app.min_rows:
            reasons.append(f"{notebook} needs at least {app.min_rows:,} rows to decide anything; case '{case.id}' has {n:,}")
        if app.min_class_rows and case.task == "binary" and case.class_rows is not None:
            rarer = min(case.class_rows)
            if rarer < app.min_class_rows:
                reasons.append(f"{notebook} needs at least {app.min_class_rows:,} rows of each class; case '{case.id}' "
                               f"has {rarer:,} of its rarer class")
    return reasons
