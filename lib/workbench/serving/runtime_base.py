"""What every runtime adapter returns (`Runtime`), and the content hash that keys compiled models."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Runtime", "text_hash"]


@dataclass(frozen=True)
class Runtime:
    """A way to run a model: `predict(rows) -> P(positive)`, and what preparing it cost."""

    name: str
    predict: Callable[[np.ndarray], np.ndarray]
    prepare_seconds: float  # compilation or conversion, 0 when there is nothing to prepare
    detail: str = ""  # e.g. "compiled" or "from cache"


def text_hash(text: str) -> str:
    """A short content hash of a model's text: the key of its compiled forms in a cache."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]
