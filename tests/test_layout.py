"""The package's layout holds: declared layers, no private name imported across modules, tests
that do not import each other, and a README whose Architecture section matches the tree."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradcalc"


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def imported_names(path: Path):
    """(module, name) for every `from module import name` in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.module or "", alias.name


def test_the_import_contracts_hold():
    """Layers, the start-up rule, click only in cli/, numpy only in data/, no cycles
    (pyproject.toml, [tool.importlinter])."""
    lint_imports = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run([sys.executable, "-c", lint_imports], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("path", python_files("gradcalc", "tests", "bench", "scripts"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    private = [f"{module}.{name}" for module, name in imported_names(path)
               if name.startswith("_") and not name.startswith("__")]
    assert not private, f"{path.name} imports private names: {', '.join(private)}"


@pytest.mark.parametrize("path", python_files("tests"), ids=lambda p: p.name)
def test_tests_do_not_import_each_other(path):
    local = {p.stem for p in (ROOT / "tests").glob("*.py")}
    imported = {module.split(".")[0] for module, _ in imported_names(path)}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported |= {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert imported & local <= {"helpers"}, f"{path.name} imports {sorted(imported & local)}"


def architecture_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Architecture\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no Architecture section"
    return match.group(1)


def test_the_readme_architecture_names_every_folder_and_module_of_the_package():
    section = architecture_section()
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    for folder in folders:
        assert f"{folder}/" in section, f"the Architecture section does not name {folder}/"
    for module in sorted(PACKAGE.glob("*.py")):
        if module.name not in ("__init__.py", "__main__.py"):
            assert module.name in section, f"the Architecture section does not name {module.name}"
    for named in re.findall(r"(?<![.\w])([a-z_]+)/", section):
        if named in ("gradcalc", "tests", "bench", "scripts", "docs", "examples"):
            continue
        assert (PACKAGE / named).is_dir(), f"the Architecture section names {named}/, not in the tree"
