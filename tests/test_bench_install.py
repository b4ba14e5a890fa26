"""The benchmark's clean install brings its own build requirements: it works beside a host whose
setuptools is older than pyproject.toml asks for (a stock Python 3.11 virtual environment has
65.5), as a user's `pip install .` does."""
from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

from bench.install import child_environment, install_checkout

OLD_SETUPTOOLS = {
    "setuptools/__init__.py": '__version__ = "65.5.0"\n',
    "setuptools/build_meta.py": 'raise ImportError("setuptools 65.5 cannot build a project that needs >= 77")\n',
    "setuptools-65.5.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: setuptools\nVersion: 65.5.0\n",
    "setuptools-65.5.0.dist-info/RECORD": "",
}


def test_the_clean_install_builds_beside_a_host_with_an_old_setuptools(tmp_path):
    old = tmp_path / "old"
    for name, text in OLD_SETUPTOOLS.items():
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_text(text)
    home = tmp_path / "venv"
    venv.create(home, with_pip=False, symlinks=True)
    python = home / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the host as the benchmark sees it, its setuptools the old one: pip and the rest from this interpreter
    Path(site, "_host_packages.pth").write_text(f"{old}\n{sysconfig.get_paths()['purelib']}\n")
    env = child_environment(tmp_path)
    found = subprocess.run([str(python), "-c", "import setuptools; print(setuptools.__version__)"],
                           capture_output=True, text=True, env=env)
    assert found.stdout.strip() == "65.5.0"
    install_checkout(python, env, tmp_path)
    done = subprocess.run([str(home / "bin" / "gradcalc"), "eval", "x*y", "--at", "x=2,y=3", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"gradient": {\n    "x": 3.0,\n    "y": 2.0\n  }' in done.stdout
