"""lleaves as a runtime: the model compiled to machine code with LLVM, cached by the model's hash.

Compilation takes seconds to minutes as the model grows (`finline=False` keeps it near-linear in
the number of trees), so the compiled library is kept in `cache_dir` and reused for the same model.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from workbench.fileio import atomic_write
from workbench.modelling import boosting
from workbench.serving.runtime_base import Runtime, text_hash

__all__ = ["build", "cached_library", "from_text"]


def cached_library(text: str, cache_dir: Path) -> Path:
    """Where the compiled form of a model (given as LightGBM text) lives, or will, in cache_dir."""
    return Path(cache_dir) / f"lleaves-{text_hash(text)}.so"


def _predict(compiled: Any, X: np.ndarray) -> np.ndarray:
    return compiled.predict(np.ascontiguousarray(X, dtype=np.float64), n_jobs=1)


def build(model: Any, cache_dir: Path) -> Runtime:
    """Compile the model (or load it from cache_dir); prepare_seconds is what this call took."""
    return from_text(boosting.to_text(model), cache_dir)


def from_text(text: str, cache_dir: Path) -> Runtime:
    """The same for a model given as LightGBM's model text."""
    import lleaves

    library = cached_library(text, cache_dir)
    library.parent.mkdir(parents=True, exist_ok=True)
    model_file = library.with_suffix(".txt")
    if not model_file.exists():
        atomic_write(model_file, lambda p: p.write_text(text, encoding="utf-8"))
    cached = library.exists()
    start = time.perf_counter()
    compiled = lleaves.Model(model_file=str(model_file))
    compiled.compile(cache=str(library), finline=False)
    seconds = time.perf_counter() - start
    return Runtime("lleaves", partial(_predict, compiled), seconds, "from cache" if cached else "compiled")
