"""Reading the small YAML files users hand the workbench (parameter files, sweep specs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import WorkbenchError

__all__ = ["read_yaml_mapping"]


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A YAML file's top-level mapping; a clear error names the file and `what` it should hold."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise WorkbenchError(f"{path}: cannot read {what} ({' '.join(str(e).split())})") from e
    if not isinstance(loaded, dict):
        raise WorkbenchError(f"{path}: {what} must be a YAML mapping, got {type(loaded).__name__}")
    return loaded
