"""The prediction service (workbench.serving.app, launched by workbench.serving.service) and the load
generator (workbench.serving.load): it answers, refuses malformed requests clearly, and always stops."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from tests.helpers import REPO
from workbench.errors import WorkbenchError
from workbench.modelling import boosting
from workbench.serving import load, service

NAMES = ["x", "colour", "size", "shop"]


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether the process has exited (or is only a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, np.ndarray]:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=2000), rng.integers(0, 6, 2000), rng.exponential(size=2000),
                         rng.integers(0, 20, 2000)]).astype(np.float32)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(X[:, 0] + (X[:, 1] == 2))))).astype(int)
    model = boosting.train(X, y, categorical=[1, 3], n_estimators=20)
    folder = tmp_path_factory.mktemp("bundle")
    service.write_bundle(folder, model, X[:500], runtime="lightgbm", threshold=0.3, feature_names=NAMES,
                         cache_dir=folder / "cache")
    return folder, model, X[:500]


@pytest.fixture(scope="module")
def svc(bundle):
    with service.serve(bundle[0]) as running:
        yield running
    assert gone(running.pid), "the service is stopped when the tests that use it end"


def test_the_service_answers_with_the_models_probabilities_and_decisions(svc, bundle) -> None:
    _, model, X = bundle
    health = httpx.get(f"{svc.url}/health").json()
    assert health == {"status": "ok", "runtime": "lightgbm", "features": NAMES, "entities": 500, "threshold": 0.3}
    r = httpx.post(f"{svc.url}/predict", json={"entities": [0, 7, 499]})
    assert r.status_code == 200
    expected = model.predict(X[[0, 7, 499]])
    np.testing.assert_allclose(r.json()["probabilities"], expected, rtol=1e-12)
    assert r.json()["decisions"] == (expected >= 0.3).astype(int).tolist()
    timing = load.parse_server_timing(r.headers["server-timing"])
    assert set(timing) == set(load.PARTS) and all(v >= 0 for v in timing.values())
    rows = httpx.post(f"{svc.url}/predict", json={"rows": [X[3].tolist(), [0.5, None, 1.0, 2]]})
    assert rows.status_code == 200
    raw = np.array([X[3], [0.5, np.nan, 1.0, 2]], dtype=np.float32)
    np.testing.assert_allclose(rows.json()["probabilities"], model.predict(raw), rtol=1e-12)


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "the body is not valid JSON"),
    (b"[1, 2]", 422, "expected a JSON object with 'entities' (a list of entity ids, 0 to 499) or 'rows'"),
    (b'{"entities": [1], "rows": [[1, 2, 3, 4]]}', 422, "expected a JSON object with 'entities'"),
    (b'{"entities": []}', 422, "'entities' must be a non-empty list"),
    (b'{"entities": [3, 500]}', 422, "entity ids must be whole numbers from 0 to 499, got 500"),
    (b'{"entities": ["3"]}', 422, "got '3'"),
    (b'{"rows": [[1, 2]]}', 422, "row 0 has 2 values; expected 4 numbers (x, colour, size, shop)"),
    (b'{"rows": [[1, 2, "big", 4]]}', 422, "row 0 holds a value that is not a number"),
])
def test_a_malformed_request_gets_a_4xx_and_a_message_saying_what_was_expected(svc, body: bytes, status: int,
                                                                                words: str) -> None:
    r = httpx.post(f"{svc.url}/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert words in r.json()["error"]


def test_too_many_rows_in_one_request_is_refused(svc) -> None:
    from workbench.serving.app import MAX_ROWS

    r = httpx.post(f"{svc.url}/predict", json={"entities": [0] * (MAX_ROWS + 1)})
    assert r.status_code == 413 and "at most" in r.json()["error"]


def test_the_load_generator_sends_at_the_rate_asked_and_reads_the_services_timings(svc) -> None:
    bodies = [json.dumps({"entities": [i]}).encode() for i in range(50)]
    result = load.open_loop(svc.url, bodies, rate=200, seconds=0.5, seed=1, pid=svc.pid)
    s = result.summary()
    assert s["requests"] == 100 and s["ok_share"] == 1.0
    assert 0 < result.seconds < 5 and 0 < s["p50_ms"] <= s["p99_ms"]
    assert np.all(result.latency >= result.server["model"]), "a request takes at least its model time"
    assert np.isfinite(result.server["lookup"]).all() and s["server_cpu_ms"] > 0
    burst = load.closed_loop(svc.url, bodies, 200, concurrency=4, pid=svc.pid)
    assert len(burst.latency) == 200 and (burst.status == 200).all() and burst.server_cpu and burst.server_cpu > 0


def test_break_rate_finds_the_last_rate_that_met_the_budget_and_the_first_that_broke_it() -> None:
    assert load.break_rate([100, 50, 200, 400], [3, 2, 12, 8], budget_ms=10) == (100.0, 200.0)
    assert load.break_rate([50, 100], [2, 3], budget_ms=10) == (100.0, None)
    assert load.break_rate([50, 100], [20, 30], budget_ms=10) == (None, 50.0)
    assert load.parse_server_timing("model;dur=0.5, lookup;desc=x;dur=2") == {"model": 0.0005, "lookup": 0.002}


def test_the_service_is_stopped_when_the_block_raises(bundle) -> None:
    with pytest.raises(RuntimeError, match="a cell failed"), service.serve(bundle[0]) as running:
        pid = running.pid
        assert httpx.get(f"{running.url}/health").status_code == 200
        raise RuntimeError("a cell failed")
    assert gone(pid)


def test_a_service_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    (tmp_path / "bundle.json").write_text("{}")
    with pytest.raises(WorkbenchError, match="exited with status .* its log"), service.serve(tmp_path, timeout=60):
        pass
    assert "KeyError" in (tmp_path / "service.log").read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_the_service_exits_by_itself_when_the_process_that_started_it_is_killed(bundle, tmp_path: Path) -> None:
    script = ("import sys, time\nfrom workbench.serving import service\n"
              f"with service.serve({str(bundle[0])!r}) as s:\n"
              "    print(s.pid, flush=True)\n    time.sleep(120)\n")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO) as parent:
        try:
            child = int(parent.stdout.readline())
            assert psutil.pid_exists(child)
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait()
    assert gone(child, within=10), "a service whose parent died does not keep running"
