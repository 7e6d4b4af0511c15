"""Files the workbench reads and writes: the small YAML files users hand it, atomic writes, sha256."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["atomic_write", "read_yaml_mapping", "sha256_file"]


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


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call write(tmp) on a temporary sibling of path, then rename it over path: readers see the old
    file or the new one, never half of one. The temporary file is removed if write fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
