"""`python -m gradcalc`: the same as the `gradcalc` command."""
from gradcalc.cli import run

if __name__ == "__main__":
    run()
