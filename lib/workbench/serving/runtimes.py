"""Model runtimes behind one interface: a fitted LightGBM booster served by LightGBM itself, by lleaves
(compiled to machine code with LLVM) or by ONNX Runtime.

Each third-party runtime lives in its own adapter module (`runtime_lightgbm`, `runtime_lleaves`,
`runtime_onnx`), so that an upgrade of one touches one file. A `Runtime` (runtime_base) predicts the probability
of the positive class for rows of features (categorical columns as codes) and says what preparing
it cost (compilation or conversion). `agreement` says whether a runtime gives LightGBM's answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.modelling import boosting
from workbench.serving.runtime_base import Runtime, text_hash

__all__ = ["RUNTIMES", "Runtime", "agreement", "build", "load", "model_hash", "text_hash"]

RUNTIMES = ("lightgbm", "lleaves", "onnx")


def model_hash(model: Any) -> str:
    """The content hash of a fitted model (see text_hash)."""
    return text_hash(boosting.to_text(model))


def build(name: str, model: Any, *, cache_dir: Path | None = None) -> Runtime:
    """The runtime `name` (one of RUNTIMES) for a fitted booster; compiled forms are cached in cache_dir."""
    if name == "lightgbm":
        from workbench.serving import runtime_lightgbm

        return runtime_lightgbm.build(model)
    if name == "lleaves":
        from workbench.serving import runtime_lleaves

        if cache_dir is None:
            raise WorkbenchError("the lleaves runtime needs a cache_dir to keep its compiled model in")
        return runtime_lleaves.build(model, cache_dir)
    if name == "onnx":
        from workbench.serving import runtime_onnx

        return runtime_onnx.build(model)
    raise WorkbenchError(f"unknown runtime '{name}' (expected one of: {', '.join(RUNTIMES)})")


def load(name: str, model_file: Path, *, cache_dir: Path | None = None) -> Runtime:
    """The runtime `name` for a model saved as LightGBM text (what a service starts from).

    lleaves reads the file itself (and its compiled form from cache_dir), without importing LightGBM.
    """
    text = Path(model_file).read_text(encoding="utf-8")
    if name == "lleaves" and cache_dir is not None:
        from workbench.serving import runtime_lleaves

        return runtime_lleaves.from_text(text, cache_dir)
    return build(name, boosting.from_text(text), cache_dir=cache_dir)


def agreement(reference: np.ndarray, other: np.ndarray, threshold: float) -> dict[str, Any]:
    """How far other's probabilities are from the reference's: the largest absolute difference, and
    how many decisions (probability >= threshold) change."""
    ref, oth = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
    if ref.shape != oth.shape:
        raise ValueError(f"predictions differ in shape: {ref.shape} vs {oth.shape}")
    return {
        "rows": int(ref.size),
        "max_abs_diff": float(np.max(np.abs(ref - oth))) if ref.size else 0.0,
        "decisions_changed": int(np.sum((ref >= threshold) != (oth >= threshold))),
    }
