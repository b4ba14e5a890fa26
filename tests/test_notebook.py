"""examples/notebook.ipynb runs in a real Jupyter kernel, and each display carries the MIME
types Jupyter shows and the seeds' numbers."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run by a kernel of this very interpreter (a kernelspec of its own, so a
    fresh virtual environment needs nothing installed beyond the test extra)."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "gradcalc-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gradcalc test", "language": "python"}))
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_PATH", str(jupyter))
    patch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports the gradcalc under test
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    try:
        NotebookClient(notebook, kernel_name="gradcalc-test", timeout=300,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        patch.undo()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def shown(cell) -> dict:
    """The one display a cell ends with: MIME type → content."""
    results = [out for out in cell.outputs if out.output_type == "execute_result"]
    assert len(results) == 1, cell.outputs
    return dict(results[0].data)


def test_the_trace_shows_both_passes_as_html(executed):
    data = shown(executed[1])
    assert sorted(data) == ["text/html", "text/plain"]
    assert data["text/plain"] == "Trace(J=33.0, 7 nodes, gradient={'b': 6.0, 'c': 9.0, 'a': 3.0})"
    assert "forward pass (topological order)" in data["text/html"]
    assert "│ J     │ mul   │ 3*v        │    33 │" in data["text/html"]
    assert "│    4 │ u → b  │     2 │        3 │            6 │ db = 6      │" in data["text/html"]


def test_the_neuron_is_an_svg_circuit(executed):
    data = shown(executed[2])
    assert sorted(data) == ["image/svg+xml", "text/html", "text/plain"]
    assert data["text/plain"] == "Circuit(14 nodes, output 'f', with values)"
    svg = data["image/svg+xml"]
    assert svg.startswith("<svg") and ">0.731<" in svg and ">-0.197<" in svg  # σ(1), ∂f/∂w0


def test_the_gradient_check_agrees(executed):
    data = shown(executed[3])
    assert sorted(data) == ["text/html", "text/plain"]
    assert data["text/plain"] == ("Check(agree=True, 'all 6 gradients agree with their oracles "
                                  "(rtol 1e-06, atol 1e-09)')")


def test_the_log_loss_gradient_is_latex(executed):
    data = shown(executed[4])
    assert sorted(data) == ["text/latex", "text/plain"]
    assert "\\frac{\\partial L}{\\partial z} &= - y + \\hat{y}" in data["text/latex"]


def test_the_network_descends_from_12_017_to_0_393(executed):
    data = shown(executed[5])
    assert sorted(data) == ["text/html", "text/plain"]
    assert data["text/plain"].startswith("Descent(L=0.393")
    assert "L = 0.393" in data["text/html"] and "from 12.017" in data["text/html"]
    assert "<svg" in data["text/html"]
