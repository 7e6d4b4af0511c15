"""ONNX Runtime as a runtime: the model converted to ONNX with onnxmltools, run on one thread.

ONNX tree ensembles compute in 32-bit floats, so probabilities differ from LightGBM's by about
1e-7; `runtimes.agreement` says whether that changes any decision.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from workbench.serving.runtime_base import Runtime

__all__ = ["build", "convert"]


def convert(model: Any) -> Any:
    """The model as an ONNX graph: one float input of all features, probabilities as an output."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = getattr(model, "booster_", model)
    inputs = [("input", FloatTensorType([None, booster.num_feature()]))]
    return onnxmltools.convert_lightgbm(booster, initial_types=inputs, zipmap=False)


class _Session:
    """An ONNX Runtime session on one thread that returns P(positive)."""

    def __init__(self, graph: Any):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its shape warnings about the unused label output are noise
        self.session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.output = [o.name for o in self.session.get_outputs() if o.name == "probabilities"]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = self.session.run(self.output, {"input": np.ascontiguousarray(X, dtype=np.float32)})[0]
        return np.asarray(out[:, 1], dtype=np.float64)


def build(model: Any) -> Runtime:
    """Convert the model and open a session; prepare_seconds is the conversion and loading time."""
    start = time.perf_counter()
    session = _Session(convert(model))
    return Runtime("onnx", session, time.perf_counter() - start, "onnxmltools conversion")
