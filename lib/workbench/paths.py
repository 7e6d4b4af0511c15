"""Where the workbench finds its notebooks, case studies and run folders."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CASES_ENV", "NOTEBOOKS_ENV", "RUNS_ENV", "case_dirs", "display", "notebooks_dir", "repo_root", "runs_dir"]

CASES_ENV = "WORKBENCH_CASES"
RUNS_ENV = "WORKBENCH_RUNS"
NOTEBOOKS_ENV = "WORKBENCH_NOTEBOOKS"


def repo_root() -> Path:
    """The repository this package was installed from (lib/workbench/ is two levels down)."""
    return Path(__file__).resolve().parents[2]


def notebooks_dir() -> Path:
    """The folder of the design-decision notebooks ($WORKBENCH_NOTEBOOKS, default notebooks/)."""
    env = os.environ.get(NOTEBOOKS_ENV)
    return Path(env).expanduser().resolve() if env else repo_root() / "notebooks"


def case_dirs() -> list[Path]:
    """Folders searched for case studies: $WORKBENCH_CASES (os.pathsep-separated), then casestudies/."""
    extra = [Path(p).expanduser() for p in os.environ.get(CASES_ENV, "").split(os.pathsep) if p]
    return [*extra, repo_root() / "casestudies"]


def runs_dir() -> Path:
    """The ignored folder that receives every run ($WORKBENCH_RUNS, default runs/)."""
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser().resolve() if env else repo_root() / "runs"


def display(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
