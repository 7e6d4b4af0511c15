"""Launch the prediction service (`app`) as a real uvicorn process on 127.0.0.1, and always stop it.

    bundle = write_bundle(folder, model, features, runtime="lleaves", threshold=0.2, feature_names=names,
                          cache_dir=cache)
    with serve(bundle) as svc:      # a free port; waits until /health answers
        ...svc.url, svc.pid...
    # stopped here by its PID, whether the block finished or raised

The service also exits by itself when the process that started it dies (see `app`), so a killed
notebook kernel leaves nothing behind either.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.modelling import boosting

__all__ = ["Service", "free_port", "serve", "write_bundle"]


def write_bundle(folder: Path, model: Any, features: np.ndarray, *, runtime: str, threshold: float,
                 feature_names: Sequence[str], cache_dir: Path) -> Path:
    """Write what the service needs into folder: the model's text, the feature table, bundle.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != len(feature_names):
        raise WorkbenchError(f"the feature table has shape {features.shape}; expected one column per feature name "
                             f"({len(feature_names)})")
    (folder / "model.txt").write_text(boosting.to_text(model), encoding="utf-8")
    np.save(folder / "features.npy", features)
    # the cache as a path relative to the bundle, so that the run folder can move (it is renamed when done)
    cache = os.path.relpath(Path(cache_dir).resolve(), folder.resolve())
    meta = {"runtime": runtime, "threshold": float(threshold), "feature_names": list(feature_names),
            "model": "model.txt", "features": "features.npy", "cache_dir": cache}
    (folder / "bundle.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """A running service: its URL, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process by its PID: terminate, then kill if it has not exited within timeout."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait_ready(svc: Service, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not svc.running():
            raise WorkbenchError(f"the prediction service exited with status {svc.process.returncode} before it "
                                 f"answered; its log ({svc.log}) ends:\n{svc.log_tail()}")
        try:
            if httpx.get(f"{svc.url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise WorkbenchError(f"the prediction service did not answer /health within {timeout:g} s; its log "
                         f"({svc.log}) ends:\n{svc.log_tail()}")


@contextlib.contextmanager
def serve(bundle: Path, *, timeout: float = 60.0) -> Iterator[Service]:
    """Start the service for a bundle on a free port of 127.0.0.1; stop it when the block ends or fails."""
    bundle = Path(bundle)
    log = bundle / "service.log"
    port = free_port()
    cmd = [sys.executable, "-m", "workbench.serving.app", "--bundle", str(bundle), "--port", str(port),
           "--parent", str(os.getpid())]
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    svc = Service(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(svc, timeout)
        yield svc
    finally:
        svc.stop()
