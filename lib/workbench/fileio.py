"""Files the workbench reads and writes: the small YAML files users hand it, atomic writes, sha256.

YAML from users (case.yaml, parameter files, sweep specs, `-p` values) is read with limits: a size
cap, a cap on the nodes it expands to (a 357-byte alias bomb must not become 358 MB of error
message), and no duplicate keys (a second `positive_class:` must not silently win). Anything echoed
back in a message is shortened with `shown`.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import reprlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_NODES", "atomic_write", "load_yaml", "read_yaml_mapping", "sha256_cached",
           "sha256_file", "shown", "yaml_nodes"]

MAX_YAML_BYTES = 1_000_000  # a case.yaml, parameter file or sweep spec is a few kilobytes
MAX_YAML_NODES = 100_000  # values after expanding aliases

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8
_repr.maxlevel = 3


def shown(value: Any) -> str:
    """A short repr of a user's value for an error message (long strings and deep structures cut)."""
    return _repr.repr(value)


def _loader() -> type:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys, naming both lines."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: let SafeLoader report it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {shown(key)} (first on line {first + 1}, again on line "
                        f"{key_node.start_mark.line + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def yaml_nodes(value: Any) -> Iterator[Any]:
    """Every value in parsed YAML: `value` itself, and each key, value and item at any depth (a value
    reached through several aliases is yielded each time)."""
    stack = [value]
    while stack:
        v = stack.pop()
        yield v
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)


def _count_nodes(value: Any, budget: int) -> int:
    """How many values `value` expands to (aliases counted each time they are used), up to budget + 1."""
    return sum(1 for _ in itertools.islice(yaml_nodes(value), budget + 1))


def load_yaml(text: str, where: str) -> Any:
    """Parse user YAML with the workbench's limits; a WorkbenchError names `where` and what was wrong."""
    import yaml

    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise WorkbenchError(f"{where}: is larger than {MAX_YAML_BYTES:,} bytes; expected a small YAML file")
    try:
        loaded = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as e:
        raise WorkbenchError(f"{where}: is not valid YAML ({' '.join(str(e).split())[:500]})") from e
    except RecursionError as e:
        raise WorkbenchError(f"{where}: nests too deeply to be a parameter or case file") from e
    if _count_nodes(loaded, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise WorkbenchError(f"{where}: expands to more than {MAX_YAML_NODES:,} values (YAML aliases?); "
                             "expected a small YAML file")
    return loaded


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A YAML file's top-level mapping; a clear error names the file and `what` it should hold."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise WorkbenchError(f"{path}: cannot read {what} ({e.strerror or e})") from e
    if len(data) > MAX_YAML_BYTES:
        raise WorkbenchError(f"{path}: {what} is larger than {MAX_YAML_BYTES:,} bytes; expected a small YAML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WorkbenchError(f"{path}: {what} is not UTF-8 text (byte {e.start}); save it as UTF-8") from e
    loaded = load_yaml(text, f"{path}")
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


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_cached(path: Path, cache_dir: Path | None = None) -> str:
    """sha256 of a file, reused while its size and modification time are unchanged.

    Remembered in this process and, when `cache_dir` is given, in `cache_dir/sha256.json`, so that
    planning many runs over a large data file hashes it once, while an edited file is hashed again.
    """
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _SHA_MEMO:
        return _SHA_MEMO[key]
    store = Path(cache_dir) / "sha256.json" if cache_dir else None
    cached: dict[str, Any] = {}
    if store is not None:
        try:
            cached = json.loads(store.read_text())
        except (OSError, ValueError):
            cached = {}
        entry = cached.get(str(path))
        if isinstance(entry, dict) and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            _SHA_MEMO[key] = str(entry["sha256"])
            return _SHA_MEMO[key]
    digest = sha256_file(path)
    _SHA_MEMO[key] = digest
    if store is not None:
        cached[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        with contextlib.suppress(OSError):  # the cache is an optimisation: a read-only runs folder still runs
            atomic_write(store, lambda p: p.write_text(json.dumps(cached, indent=0, sort_keys=True)))
    return digest


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
