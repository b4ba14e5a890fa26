"""`python -m gradcalc`: the same as the `gradcalc` command."""
from .cli import run

if __name__ == "__main__":
    run()
