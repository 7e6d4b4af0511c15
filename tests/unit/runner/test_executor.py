"""Parameter injection and memory sampling (workbench.runner.executor), as papermill does them."""

from __future__ import annotations

import os

from workbench.runner.executor import MemoryWatch, inject_parameters


def test_parameters_are_injected_after_the_parameters_cell_and_sources_joined() -> None:
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# T\n", "text\n"]},
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["x = 1\n", "y = 'a'\n"]},
                    {"cell_type": "code", "metadata": {}, "source": ["print(x)\n"]}]}
    out, at = inject_parameters(nb, {"x": 2, "y": "b'c", "z": [1, None]})
    assert at == 2 and [c["source"] for c in out["cells"]][0] == "# T\ntext\n"
    assert out["cells"][at]["metadata"]["tags"] == ["injected-parameters"]
    namespace: dict = {}
    exec(out["cells"][1]["source"] + out["cells"][at]["source"], namespace)
    assert (namespace["x"], namespace["y"], namespace["z"]) == (2, "b'c", [1, None])
    assert isinstance(nb["cells"][1]["source"], list), "the source notebook is not modified"


def test_a_notebook_without_a_parameters_cell_gets_its_parameters_first() -> None:
    out, at = inject_parameters({"cells": [{"cell_type": "code", "metadata": {}, "source": "x"}]}, {"x": 1})
    assert at == 0 and out["cells"][1]["source"] == "x"


def test_the_memory_watch_sees_at_least_this_processs_memory() -> None:
    import psutil

    watch = MemoryWatch(interval=0.01)
    watch.watch(os.getpid())
    import time

    time.sleep(0.1)
    peak = watch.stop()
    assert peak is not None and peak >= psutil.Process().memory_info().rss / 2**20 * 0.5
