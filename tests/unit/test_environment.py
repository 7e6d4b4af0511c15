"""The pinned environment: requirements, conda's environment.yml and the installed packages agree."""

from __future__ import annotations

import re
from importlib import metadata

import yaml

from tests.helpers import REPO


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)==([^\s#;]+).*", line)
        if m:
            out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


def test_every_top_level_requirement_is_pinned_to_the_locked_version() -> None:
    top = pins((REPO / "requirements.in").read_text().splitlines())
    locked = pins((REPO / "requirements.txt").read_text().splitlines())
    assert top and all(locked.get(name) == version for name, version in top.items())
    assert int(locked["pandas"].split(".")[0]) < 3, "evidently 0.7 needs pandas < 3"


def test_environment_yml_mirrors_the_pins() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    mirrored = pins(pip_section)
    top = pins((REPO / "requirements.in").read_text().splitlines())
    assert mirrored == top


def test_the_installed_versions_are_the_pinned_ones() -> None:
    top = pins((REPO / "requirements.in").read_text().splitlines())
    for name, version in top.items():
        assert metadata.version(name) == version, name
