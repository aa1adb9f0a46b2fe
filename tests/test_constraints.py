"""constraints.txt pins the environment the benchmark records were made in: every
dependency pyproject.toml names is pinned there, at a version pyproject.toml allows, and
the installs of .ci/run and the README use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

REPOSITORY = Path(__file__).resolve().parents[1]


def pins(constraints: str) -> dict[str, Version]:
    """Package (canonical name) -> pinned version; a line that is not ``name==version``
    is an error, since a range there would not reproduce one environment."""
    out: dict[str, Version] = {}
    for number, line in enumerate(constraints.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if m is None:
            raise ValueError(f"constraints line {number} is {line!r}; expected NAME==VERSION")
        name = canonicalize_name(m[1])
        if name in out:
            raise ValueError(f"constraints line {number} pins {m[1]} a second time")
        out[name] = Version(m[2])
    return out


def disagreements(pyproject: str, constraints: str) -> list[str]:
    """Every dependency of ``pyproject`` (the required ones and each extra's) that
    ``constraints`` leaves unpinned or pins outside the range the project allows."""
    project = tomllib.loads(pyproject)["project"]
    wanted = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    pinned = pins(constraints)
    found = []
    for text in wanted:
        req = Requirement(text)
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            found.append(f"{req.name} is a dependency in pyproject.toml but not pinned in constraints.txt")
        elif not req.specifier.contains(version, prereleases=True):
            found.append(f"constraints.txt pins {req.name}=={version}, outside {req.name}{req.specifier} "
                         "that pyproject.toml allows")
    return found


PYPROJECT = """
[project]
name = "x"
dependencies = ["numpy>=1.24", "spacy>=3.7,<4"]
[project.optional-dependencies]
distributed = ["dask[distributed]>=2024.1"]
"""


def test_the_check_finds_an_unpinned_dependency_and_a_pin_outside_the_range():
    assert disagreements(PYPROJECT, "numpy==2.4.6\nspacy==3.8.18\ndask==2026.11.0\n") == []
    assert disagreements(PYPROJECT, "# header\nNumPy==2.4.6\nspacy==4.0.1\n") == [
        "constraints.txt pins spacy==4.0.1, outside spacy<4,>=3.7 that pyproject.toml allows",
        "dask is a dependency in pyproject.toml but not pinned in constraints.txt",
    ]
    with pytest.raises(ValueError, match="line 2 is 'scipy>=1.10'; expected NAME==VERSION"):
        pins("numpy==2.4.6\nscipy>=1.10\n")


def test_constraints_pin_every_dependency_within_the_range_pyproject_allows():
    pyproject = (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")
    constraints = (REPOSITORY / "constraints.txt").read_text(encoding="utf-8")
    assert disagreements(pyproject, constraints) == []


def _setup_installs(text: str) -> list[str]:
    """The ``pip install`` commands of the set-up lines (those that make the virtualenv)."""
    lines = [line for line in text.splitlines() if line.startswith("python3 -m venv")]
    return [c for line in lines for c in re.findall(r"pip install [^&\n]*", line)]


@pytest.mark.parametrize("path", [".ci/run", "README.md"])
def test_every_setup_install_uses_the_constraints_and_the_pinned_torch(path):
    installs = _setup_installs((REPOSITORY / path).read_text(encoding="utf-8"))
    assert installs, f"{path} holds no set-up line with pip install"
    torch = pins((REPOSITORY / "constraints.txt").read_text(encoding="utf-8"))["torch"]
    for command in installs:
        assert "-c constraints.txt" in command, f"{path}: {command!r} installs without -c constraints.txt"
        for version in re.findall(r"torch==(\S+)", command):
            assert Version(version) == torch, f"{path} installs torch {version}, constraints.txt pins {torch}"
