"""The README's promises: set-up commands, CI running the same test command."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'python3 -m pip install ".[test]" && python3 -m pytest -q'
    assert command in readme and command in ci


def test_readme_python_api_example_runs():
    from gradcalc import evaluate, lower

    assert evaluate("3*(a+b*c)", {"a": 5, "b": 3, "c": 2}).gradient == {"a": 3.0, "b": 6.0, "c": 9.0}
    graph = lower("u = b*c; v = a + u; J = 3*v")
    assert evaluate(graph, {"a": 5, "b": 3, "c": 2}).grad_of("u") == 3.0
