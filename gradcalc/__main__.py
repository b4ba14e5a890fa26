"""`python -m gradcalc`: the same as the `gradcalc` command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="gradcalc")
