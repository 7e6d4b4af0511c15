"""Exceptions the workbench raises for problems a user can fix."""

from __future__ import annotations

__all__ = ["CaseError", "ParameterError", "RunError", "WorkbenchError"]


class WorkbenchError(Exception):
    """A problem with the user's input or project files, with a message saying how to fix it."""


class CaseError(WorkbenchError):
    """A case study folder is missing, malformed or inconsistent with its data."""

    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"case study {where}: {len(self.problems)} {noun}\n{lines}")


class ParameterError(WorkbenchError):
    """A requested parameter does not match the notebook's declared parameters."""

    def __init__(self, notebook: str, problems: list[str]):
        self.notebook = notebook
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid parameters for {notebook}:\n{lines}")


class RunError(WorkbenchError):
    """A notebook run failed; the run folder is marked failed."""
