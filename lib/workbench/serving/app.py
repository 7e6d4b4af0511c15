"""The prediction service: a Starlette app that serves one model bundle, run on uvicorn by `service`.

    python -m workbench.serving.app --bundle DIR --port PORT [--parent PID]

POST /predict takes `{"entities": [ids]}` (rows looked up in the bundle's feature table, as an
online feature store would) or `{"rows": [[numbers]]}`, and answers with each row's probability and
decision. A `Server-Timing` header says where the server's time went: parse (reading the JSON),
lookup (fetching features), model, serialise (writing the JSON). GET /health says what is served.
A malformed request gets a 4xx status and an `error` message saying what was expected. With
`--parent`, the service exits by itself when that process is gone, so a crashed notebook kernel
cannot leave it running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAX_ROWS", "build_app", "main", "read_bundle"]

MAX_ROWS = 10_000  # rows one request may ask for


class _BadRequest(Exception):
    """A request the service refuses, with its HTTP status and a message saying what was expected."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def read_bundle(folder: Path) -> dict[str, Any]:
    """The bundle's description (bundle.json): runtime, threshold, feature names, files."""
    return dict(json.loads((Path(folder) / "bundle.json").read_text(encoding="utf-8")))


def _rows(payload: Any, features: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, float]:
    """The feature rows a request asks for, and the seconds spent looking them up."""
    expected = (f"expected a JSON object with 'entities' (a list of entity ids, 0 to {len(features) - 1}) or "
                f"'rows' (a list of rows of {len(names)} numbers: {', '.join(names)})")
    if not isinstance(payload, dict) or len(set(payload) & {"entities", "rows"}) != 1:
        raise _BadRequest(422, expected)
    key = "entities" if "entities" in payload else "rows"
    items = payload[key]
    if not isinstance(items, list) or not items:
        raise _BadRequest(422, f"'{key}' must be a non-empty list; {expected}")
    if len(items) > MAX_ROWS:
        raise _BadRequest(413, f"at most {MAX_ROWS:,} rows a request, got {len(items):,}")
    start = time.perf_counter()
    if key == "entities":
        if not all(type(i) is int and 0 <= i < len(features) for i in items):
            bad = next(i for i in items if not (type(i) is int and 0 <= i < len(features)))
            raise _BadRequest(422, f"entity ids must be whole numbers from 0 to {len(features) - 1}, got {bad!r}")
        return features[np.asarray(items)], time.perf_counter() - start
    for i, row in enumerate(items):
        if not isinstance(row, list) or len(row) != len(names):
            got = f"{len(row)} values" if isinstance(row, list) else repr(row)
            raise _BadRequest(422, f"row {i} has {got}; expected {len(names)} numbers ({', '.join(names)})")
        if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in row):
            raise _BadRequest(422, f"row {i} holds a value that is not a number or null: {row!r}")
    X = np.array([[np.nan if v is None else v for v in row] for row in items], dtype=np.float32)
    return X, time.perf_counter() - start


def build_app(bundle: Path, *, parent: int | None = None) -> Any:
    """The Starlette app serving a bundle written by `service.write_bundle`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from workbench.serving import runtimes

    bundle = Path(bundle)
    meta = read_bundle(bundle)
    runtime = runtimes.load(meta["runtime"], bundle / meta["model"], cache_dir=bundle / meta["cache_dir"])
    features = np.load(bundle / meta["features"])
    names = list(meta["feature_names"])
    threshold = float(meta["threshold"])
    runtime.predict(features[:1])  # warm up

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "runtime": runtime.name, "features": names,
                             "entities": int(len(features)), "threshold": threshold})

    async def predict(request: Request) -> Response:
        t0 = time.perf_counter()
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError as e:
            return JSONResponse({"error": f"the body is not valid JSON ({e})"}, status_code=400)
        t1 = time.perf_counter()
        try:
            X, lookup = _rows(payload, features, names)
        except _BadRequest as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        t2 = time.perf_counter()
        p = runtime.predict(X)
        t3 = time.perf_counter()
        out = json.dumps({"probabilities": p.tolist(), "decisions": (p >= threshold).astype(int).tolist()}).encode()
        t4 = time.perf_counter()
        timing = (f"parse;dur={(t1 - t0 + (t2 - t1 - lookup)) * 1e3:.4f}, lookup;dur={lookup * 1e3:.4f}, "
                  f"model;dur={(t3 - t2) * 1e3:.4f}, serialise;dur={(t4 - t3) * 1e3:.4f}")
        return Response(out, media_type="application/json", headers={"server-timing": timing})

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        watch = asyncio.create_task(_exit_with(parent)) if parent else None
        yield
        if watch:
            watch.cancel()

    return Starlette(routes=[Route("/health", health), Route("/predict", predict, methods=["POST"])],
                     lifespan=lifespan)


async def _exit_with(parent: int) -> None:
    """Exit this process as soon as the parent process is gone."""
    import psutil

    while True:
        await asyncio.sleep(0.5)
        try:
            gone = psutil.Process(parent).status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            gone = True
        if gone:
            os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the service on 127.0.0.1 (one process, one event loop: one core for Python)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m workbench.serving.app", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="folder written by service.write_bundle")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, default=None, help="exit when this process is gone")
    args = parser.parse_args(argv)
    uvicorn.run(build_app(args.bundle, parent=args.parent), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
