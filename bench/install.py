"""The interpreters the benchmark runs gradcalc with, and the versions it reports.

Start-up time depends on how gradcalc is installed. A user runs `pip install .`: compiled
bytecode in site-packages and a console script. A developer's editable install adds an
import hook (a finder module imported by every interpreter start) and, where the
environment sets PYTHONDONTWRITEBYTECODE, no cached bytecode at all. So the suite measures:

* ``installed``: a regular `pip install --no-deps .` into a throwaway virtual environment.
  It sees this interpreter's packages (click, rich, sympy, numpy, the peers) through one
  path entry, but none of their start-up hooks (`.pth` files); floors run on the same
  interpreter, so every ratio compares like with like. The targets are judged here.
* ``dev``: this interpreter as it is, with its site hooks and the editable install.

Every child caches bytecode in a scratch directory (PYTHONPYCACHEPREFIX), as a machine that
writes bytecode does after the first run, and never writes into the checkout.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import venv
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REPORTED = ("gradcalc", "click", "rich", "sympy", "numpy", "pandas", "pyarrow", "torch", "jax",
            "micrograd", "mpmath")


@dataclass(frozen=True)
class Interpreter:
    """A Python to run children with, how it runs gradcalc, and its environment."""

    label: str
    python: str
    gradcalc: tuple[str, ...]  # argv prefix of the `gradcalc` command
    env: dict[str, str]
    note: str

    def command(self, *args: str) -> list[str]:
        return [*self.gradcalc, *args]

    def code(self, source: str) -> list[str]:
        return [self.python, "-c", source]

    def has(self, module: str) -> bool:
        """Whether this interpreter can import `module` (peers are optional)."""
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        return subprocess.run(self.code(probe), env=self.env, capture_output=True).returncode == 0


def child_environment(scratch: Path) -> dict[str, str]:
    """This process's environment with bytecode caching on, in a scratch directory."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env.pop("PYTHONPATH", None)
    env["NO_COLOR"] = "1"
    return env


def dev_interpreter(scratch: Path) -> Interpreter:
    """This interpreter and whatever install of gradcalc it has (editable in a checkout)."""
    script = Path(sys.executable).with_name("gradcalc")
    argv = (str(script),) if script.exists() else (sys.executable, "-m", "gradcalc")
    return Interpreter("dev", sys.executable, argv, child_environment(scratch),
                       "this interpreter, editable install, all site hooks")


def installed_interpreter(scratch: Path) -> Interpreter:
    """A virtual environment holding a regular install of this checkout (see module doc)."""
    home = scratch / "venv"
    venv.create(home, with_pip=False, symlinks=True)
    python = home / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    paths = sysconfig.get_paths()
    hosts = dict.fromkeys([paths["purelib"], paths["platlib"]])
    Path(site, "_host_packages.pth").write_text("\n".join(hosts) + "\n", encoding="utf-8")
    env = child_environment(scratch)
    install_checkout(python, env, scratch)
    return Interpreter("installed", str(python), (str(home / "bin" / "gradcalc"),), env,
                       "regular `pip install .` in a clean virtual environment")


def install_checkout(python: Path, env: dict[str, str], cwd: Path) -> None:
    """`pip install --no-deps .` with the build requirements of pyproject.toml (setuptools ≥ 77)
    brought by pip into a build environment of its own, as a user's `pip install .` does: the
    host's setuptools may be older (a stock Python 3.11 virtual environment has 65.5), and the
    build environment does not see the host's packages. Without an index to fetch them from,
    the host's own build tools are tried."""
    argv = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check", str(ROOT)]
    isolated = subprocess.run(argv, capture_output=True, env=env, cwd=cwd)
    if isolated.returncode == 0:
        return
    hosted = subprocess.run([*argv, "--no-build-isolation"], capture_output=True, env=env, cwd=cwd)
    if hosted.returncode != 0:
        raise subprocess.CalledProcessError(isolated.returncode, argv, isolated.stdout,
                                            isolated.stderr + b"\n" + hosted.stderr)


def interpreters(scratch: Path) -> list[Interpreter]:
    """The installed interpreter first (targets are judged on it), then this one."""
    found = []
    try:
        found.append(installed_interpreter(scratch))
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"note: no clean install ({exc}; {detail.decode(errors='replace')[-300:]}); "
              "measuring the dev install only", file=sys.stderr)
    found.append(dev_interpreter(scratch))
    return found


def versions() -> dict[str, str]:
    """Python, the machine, and each reported package's version ('-' when absent)."""
    found = {"python": platform.python_version(), "machine": _machine()}
    for name in REPORTED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def _machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"


def scratch_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="gradcalc-bench-")
