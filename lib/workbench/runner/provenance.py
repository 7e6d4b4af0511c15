"""What a run records about where it came from: package versions and the git revision."""

from __future__ import annotations

import platform
import subprocess

from workbench import paths

__all__ = ["PACKAGES", "git_revision", "versions"]

PACKAGES = ("workbench", "pandas", "numpy", "scipy", "scikit-learn", "lightgbm", "matplotlib",
            "seaborn", "evidently", "cleanlab", "dask", "papermill", "nbclient", "ipykernel", "pyarrow")


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> str | None:
    try:
        root = paths.repo_root()
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


