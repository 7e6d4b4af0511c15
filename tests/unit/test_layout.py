"""The library's layout: the import rules between layers, no import cycles, explicit public surfaces,
and nothing POSIX-only needed at import time."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import workbench

LIB = Path(workbench.__file__).resolve().parent
CORE = {"workbench", "workbench.errors", "workbench.paths", "workbench.records", "workbench.fileio", "workbench.cases"}
RUNNER = "workbench.runner"
MODELLING = "workbench.modelling"


def modules() -> list[str]:
    return ["workbench", *sorted(m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench."))]


def source(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def imported(name: str, *, top_level_only: bool = False) -> set[str]:
    """The workbench modules a module imports (anywhere in it, or only at import time)."""
    tree = ast.parse(source(name).read_text())
    package = name if source(name).name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # type-only imports never run
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.update(a.name for a in child.names if a.name.startswith("workbench") and (inner or not top_level_only))
            elif isinstance(child, ast.ImportFrom) and (inner or not top_level_only):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                if base.startswith("workbench"):
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        out.add(full if _is_module(full) else base)
            visit(child, inner)

    visit(tree, True)
    out.discard(name)
    return out


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ModuleNotFoundError, AttributeError, ValueError):
        return False


def layer(name: str) -> str:
    if name in CORE or name.startswith("workbench.cases."):
        return "core"
    if name.startswith(RUNNER) or name == "workbench.__main__":
        return "runner"
    if name.startswith(MODELLING):
        return "modelling"
    return "toolkit"


@pytest.mark.parametrize("name", modules())
def test_toolkits_and_modelling_never_import_the_runner_and_core_imports_no_ml(name: str) -> None:
    deps = imported(name)
    if layer(name) in ("toolkit", "modelling"):
        assert not {d for d in deps if d.startswith(RUNNER)}, f"{name} imports the runner"
    if layer(name) == "modelling":
        assert all(layer(d) in ("core", "modelling") for d in deps), f"{name} imports a toolkit: {deps}"
    if layer(name) == "core":
        assert all(layer(d) == "core" for d in deps), f"{name} (core) imports {deps}"


def test_no_module_imports_itself_back_through_a_cycle() -> None:
    graph = {m: {d for d in imported(m) if d in set(modules())} for m in modules()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if d.startswith(m + ".") or m.startswith(d + "."):
                continue  # a package and its own modules
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                dfs(d)
        stack.pop()
        state[m] = 2

    for m in modules():
        if m not in state:
            dfs(m)


@pytest.mark.parametrize("name", [m for m in modules() if source(m).name != "__main__.py"])
def test_every_module_declares_exactly_its_public_functions_and_classes_in_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if source(name).name == "__init__.py" and exported is None:
        assert not [k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                    and getattr(v, "__module__", "") == name], f"{name} defines public names without __all__"
        return
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported) and all(hasattr(module, n) for n in exported), name
    defined = {k for k, v in vars(module).items() if not k.startswith("_") and (callable(v) or isinstance(v, type))
               and getattr(v, "__module__", None) == name}
    assert defined <= set(exported), f"{name}: public but not in __all__: {sorted(defined - set(exported))}"


def test_every_module_imports_where_fcntl_resource_and_termios_do_not_exist() -> None:
    names = [m for m in modules() if not m.endswith("__main__")]
    code = ("import sys\n"
            "for blocked in ('fcntl', 'resource', 'termios', 'pwd', 'grp'):\n"
            "    sys.modules[blocked] = None\n"
            "import importlib\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_python_dash_m_workbench_is_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "cases" in proc.stdout and "sweep" in proc.stdout
