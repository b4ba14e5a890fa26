"""What a distributor gets: an sdist that carries its own tests and whatever they read, and a
wheel with the license, the type marker and honest metadata. Both are built here by the
setuptools backend itself, from a copy of the tree (scripts/sdist_check.sh goes further:
it unpacks the sdist, installs it in a fresh virtual environment and runs its tests)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the tests read beside the package: the whole of these folders, and these files.
SHIPPED_FOLDERS = ("tests", "examples", "docs", "bench", "scripts")
SHIPPED_FILES = ("README.md", "LICENSE", "pyproject.toml", "MANIFEST.in", ".ci/run")
NOT_SOURCE = {"__pycache__", ".git", ".venv", "venv", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache",
              "build", "dist", "out"}
# One process per hook, as a build frontend does: setuptools keeps state between them.
BUILD = "import sys; from setuptools import build_meta; getattr(build_meta, sys.argv[1])(sys.argv[2])"


def source_files(folder: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*")
            if p.is_file() and not NOT_SOURCE & set(p.relative_to(ROOT).parts)
            and p.suffix not in (".pyc", ".pyo")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist member names without the top folder, wheel member names, wheel METADATA)."""
    tree, out = tmp_path_factory.mktemp("tree"), tmp_path_factory.mktemp("dist")
    shutil.copytree(ROOT, tree, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*NOT_SOURCE, "*.egg-info", "*.pyc"))
    for hook in ("build_sdist", "build_wheel"):
        run = subprocess.run([sys.executable, "-c", BUILD, hook, str(out)], cwd=tree, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    (sdist_path,), (wheel_path,) = out.glob("*.tar.gz"), out.glob("*.whl")
    with tarfile.open(sdist_path) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    with zipfile.ZipFile(wheel_path) as wheel:
        wheel_members = set(wheel.namelist())
        metadata_name = next(n for n in wheel_members if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    return members, wheel_members, metadata


def test_the_sdist_carries_the_tests_and_everything_they_read(built):
    members, _, _ = built
    expected = set(SHIPPED_FILES).union(*(source_files(folder) for folder in SHIPPED_FOLDERS))
    assert {"tests/conftest.py", "tests/helpers.py", "examples/points.csv"} <= expected
    assert sorted(expected - members) == []


def test_the_sdist_carries_no_bytecode(built):
    members, _, _ = built
    assert [name for name in members if name.endswith((".pyc", ".pyo"))] == []


def test_the_wheel_carries_the_license_and_the_type_marker(built):
    _, wheel_members, _ = built
    assert "gradcalc/py.typed" in wheel_members
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_members)
    assert not any(name.startswith(("tests/", "examples/", "bench/")) for name in wheel_members)


def test_the_metadata_names_the_license_and_the_pythons_that_are_tested(built):
    _, _, metadata = built
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.10"
    pythons = [c.rsplit(" :: ", 1)[1] for c in metadata.get_all("Classifier")
               if c.startswith("Programming Language :: Python :: 3.")]
    assert pythons == ["3.10", "3.11", "3.12", "3.13"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'PYTHONS:-{pythons[0]} {pythons[-1]}' in ci  # CI runs the lowest and the newest


def test_the_license_is_mit_held_by_the_authors():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "the gradcalc authors" in text


# The floors scripts/lowest.sh measured: below them the suite fails.
MEASURED = {
    "sympy>=1.12.1": "sympy 1.12 admits mpmath 1.4",
    "mpmath<1.4,>=1.3": "under mpmath 1.4 --digits recurses forever (numbers/precise.py)",
    'pyarrow>=16; extra == "arrow"': "pyarrow 14 breaks beside numpy 2, and 15 holds numpy below 2",
    'import-linter>=2.6; extra == "test"': "older versions know no acyclic_siblings contract",
}


@pytest.mark.parametrize("requirement", MEASURED, ids=MEASURED.get)
def test_the_floors_are_the_measured_ones(built, requirement):
    _, _, metadata = built
    assert requirement in metadata.get_all("Requires-Dist")
