"""The command line: click lives here and nowhere else.

`app` holds the group, its error handling and `run` (the `gradcalc` entry point); the
command modules register themselves on the group when imported.
"""
from gradcalc.cli import commands  # noqa: F401  (registers the commands on `main`)
from gradcalc.cli.app import main, run

__all__ = ["main", "run"]
