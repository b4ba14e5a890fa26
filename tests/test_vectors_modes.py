"""The Jacobian of vector and matrix outputs, and of several outputs among which vectors:
computed on the scalar circuit of their elements, over the flattened inputs, rows labelled by
the outputs' elements (`z[0]`) and columns by the inputs' (`W[0, 1]`); trace's forward mode,
one pass by one element; and eval's IEEE mode, shaped. Checked against numpy's formulas
(d(Wx)/dW = δ ⊗ x, d(Wx)/dx = W, in IEEE arithmetic for inf), central differences, sympy's
`jacobian` and the reverse-mode gradient."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from helpers import one_error

W = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])
X = np.array([0.5, -1.0, 2.0])
B = np.array([0.1, -0.3])
AT = "W=[[1,-2,0.5],[3,0.25,-1]],x=[0.5,-1,2],b=[0.1,-0.3]"
W_LABELS = [f"W[{i}, {j}]" for i in range(2) for j in range(3)]
X_LABELS = [f"x[{k}]" for k in range(3)]
PROGRAM = "z = tanh(W@x + b)\nL = sum(z**2)\n"


def rows(document: dict, outputs: list[str], inputs: list[str]) -> np.ndarray:
    """The JSON Jacobian as a matrix, checking its labels on the way."""
    assert list(document["jacobian"]) == outputs
    assert all(list(row) == inputs for row in document["jacobian"].values())
    return np.array([[document["jacobian"][o][i] for i in inputs] for o in outputs])


def central(f, flat: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂flat by central differences, one column per element."""
    columns = []
    for k in range(flat.size):
        step = np.zeros_like(flat)
        step[k] = h
        columns.append((np.atleast_1d(f(flat + step)) - np.atleast_1d(f(flat - step))) / (2 * h))
    return np.stack(columns, axis=1)


def layer(flat: np.ndarray) -> np.ndarray:
    """tanh(W x + b) of the flattened W, x, b."""
    return np.tanh(flat[:6].reshape(2, 3) @ flat[6:9] + flat[9:])


FLAT = np.concatenate([W.ravel(), X, B])


def test_the_jacobian_of_a_matrix_vector_product_is_numpys_formula(cli):
    run = cli("eval", "W@x", "--at", AT.rsplit(",b=", 1)[0], "--jacobian", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    out = run.json()
    assert out["outputs"] == ["f"]
    assert out["values"] == {"f": pytest.approx(list(W @ X), abs=1e-15)}
    assert out["at"] == {"W": W.tolist(), "x": X.tolist()}
    jacobian = rows(out, ["f[0]", "f[1]"], W_LABELS + X_LABELS)
    by_w = np.kron(np.eye(2), X)  # ∂(Wx)_i/∂W_jk = δ_ij x_k
    assert jacobian[:, :6] == pytest.approx(by_w, abs=1e-15)
    assert jacobian[:, 6:] == pytest.approx(W, abs=1e-15)  # ∂(Wx)/∂x = W
    assert (out["mode"], out["passes"]) == ("reverse", 2)


def test_the_jacobian_of_a_layer_agrees_with_its_formula_and_central_differences(cli):
    out = cli("eval", "tanh(W@x + b)", "--at", AT, "--jacobian", "--format", "json").json()
    jacobian = rows(out, ["f[0]", "f[1]"], W_LABELS + X_LABELS + ["b[0]", "b[1]"])
    t = np.tanh(W @ X + B)
    local = np.diag(1 - t**2)
    formula = np.hstack([local @ np.kron(np.eye(2), X), local @ W, local])
    assert np.abs(jacobian - formula).max() < 1e-12
    assert np.abs(jacobian - central(layer, FLAT)).max() < 1e-9


def test_forward_mode_gives_the_reverse_modes_jacobian_in_one_pass_per_input(cli):
    reverse = cli("eval", "tanh(W@x + b)", "--at", AT, "--jacobian", "--mode", "reverse",
                  "--format", "json").json()
    forward = cli("eval", "tanh(W@x + b)", "--at", AT, "--jacobian", "--mode", "forward",
                  "--format", "json").json()
    assert (forward["mode"], forward["passes"], reverse["passes"]) == ("forward", 11, 2)
    inputs = W_LABELS + X_LABELS + ["b[0]", "b[1]"]
    assert np.abs(rows(forward, ["f[0]", "f[1]"], inputs) - rows(reverse, ["f[0]", "f[1]"], inputs)).max() < 1e-15


def test_wrt_a_vector_gives_the_columns_of_its_elements(cli):
    out = cli("eval", "tanh(W@x + b)", "--at", AT, "--jacobian", "--wrt", "x",
              "--format", "json").json()
    t = np.tanh(W @ X + B)
    assert rows(out, ["f[0]", "f[1]"], X_LABELS) == pytest.approx(np.diag(1 - t**2) @ W, abs=1e-12)


def test_several_outputs_with_a_vector_give_one_row_per_element(cli, tmp_path):
    program = tmp_path / "layer.txt"
    program.write_text(PROGRAM)
    run = cli("eval", "-f", str(program), "--at", AT, "--output", "z,L", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    out = run.json()
    t = np.tanh(W @ X + B)
    assert out["outputs"] == ["z", "L"]
    assert out["values"]["z"] == pytest.approx(list(t), abs=1e-15)
    assert out["values"]["L"] == pytest.approx(float(t @ t), abs=1e-15)
    inputs = W_LABELS + X_LABELS + ["b[0]", "b[1]"]
    jacobian = rows(out, ["z[0]", "z[1]", "L"], inputs)
    dz = central(layer, FLAT)
    assert np.abs(jacobian[:2] - dz).max() < 1e-9
    assert np.abs(jacobian[2] - 2 * t @ dz).max() < 1e-9  # ∂L/∂· = 2 zᵀ ∂z/∂·
    gradient = cli("eval", "-f", str(program), "--at", AT, "--format", "json").json()["gradient"]
    flat = np.concatenate([np.ravel(gradient[name]) for name in ("W", "x", "b")])
    assert jacobian[2] == pytest.approx(flat, abs=1e-15)  # the reverse-mode gradient of L


def test_the_exact_jacobian_on_small_integer_matrices_is_sympys(cli):
    out = cli("eval", "A@x + x*x[0]", "--at", "A=[[1,2],[3,-1]],x=[2,-1]", "--jacobian", "--exact",
              "--format", "json").json()
    A = sp.Matrix(2, 2, sp.symbols("a00 a01 a10 a11"))
    x = sp.Matrix(sp.symbols("x0 x1"))
    f = A * x + x * x[0]
    inputs = [*A, *x]
    expected = f.jacobian(inputs).subs(dict(zip(inputs, [1, 2, 3, -1, 2, -1])))
    labels = ["A[0, 0]", "A[0, 1]", "A[1, 0]", "A[1, 1]", "x[0]", "x[1]"]
    exact = out["exact"]["jacobian"]
    assert list(exact) == ["f[0]", "f[1]"]
    assert [[sp.Rational(exact[o][c]) for c in labels] for o in exact] == expected.tolist()
    assert out["exact"]["values"] == {"f": ["4", "5"]}  # [0, 7] + [4, -2]


def test_the_table_labels_rows_and_columns_by_element(cli):
    run = cli("eval", "W@x", "--at", "W=[[1,2]],x=[3,-1]", "--jacobian")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout == (
        "Jacobian ∂output/∂input at W = [[1, 2]], x = [3, -1]\n"
        "┏━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┓\n"
        "┃ output ┃ value ┃ ∂/∂W[0, 0] ┃ ∂/∂W[0, 1] ┃ ∂/∂x[0] ┃ ∂/∂x[1] ┃\n"
        "┡━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━┩\n"
        "│ f[0]   │     1 │          3 │         -1 │       1 │       2 │\n"
        "└────────┴───────┴────────────┴────────────┴─────────┴─────────┘\n"
        "reverse mode: 1 pass (one per output), 6 local derivatives evaluated\n"
        "(forward mode: 4 passes, one per input)\n")


def test_csv_has_one_row_per_element(cli):
    run = cli("eval", "W@x", "--at", "W=[[1,2]],x=[3,-1]", "--jacobian", "--format", "csv")
    assert run.code == 0
    assert run.stdout.splitlines() == [
        'role,name,value,"∂/∂W[0, 0]","∂/∂W[0, 1]",∂/∂x[0],∂/∂x[1]',
        'input,"W[0, 0]",1.0,,,,',
        'input,"W[0, 1]",2.0,,,,',
        "input,x[0],3.0,,,,",
        "input,x[1],-1.0,,,,",
        "output,f[0],1.0,3.0,-1.0,1.0,2.0",
    ]


def test_a_trace_of_several_vector_outputs_says_what_to_trace_instead(cli, tmp_path):
    program = tmp_path / "layer.txt"
    program.write_text(PROGRAM)
    assert one_error(cli("trace", "-f", str(program), "--at", AT, "--output", "z,L")) == (
        "error: a trace of several outputs that are vectors or matrices: trace one output with "
        "--seed-output NAME, or its scalar circuit with --gates scalar; eval gives their Jacobian")


def test_a_batch_line_asks_for_the_jacobian_of_a_vector_as_eval_does(cli):
    run = cli("eval", "--batch", "-",
              stdin='{"expr": "W@x", "at": {"W": [[1, 2]], "x": [3, -1]}, "jacobian": true}\n')
    assert run.code == 0 and run.stderr == ""
    assert run.stdout == (
        '{"outputs": ["f"], "values": {"f": [1.0]}, "at": {"W": [[1.0, 2.0]], "x": [3.0, -1.0]}, '
        '"jacobian": {"f[0]": {"W[0, 0]": 3.0, "W[0, 1]": -1.0, "x[0]": 1.0, "x[1]": 2.0}}, '
        '"mode": "reverse", "passes": 1, "evaluations": 6}\n')


# ---- forward mode: one pass on the elements' circuit -----------------------------------------

def test_trace_forward_by_one_element_gives_the_jacobians_column(cli):
    run = cli("trace", "tanh(W@x + b)", "--at", AT, "--mode", "forward", "--wrt", "W_1_2",
              "--format", "json")
    assert run.code == 0 and run.stderr == ""
    out = run.json()
    jacobian = cli("eval", "tanh(W@x + b)", "--at", AT, "--jacobian", "--format", "json").json()["jacobian"]
    assert (out["wrt"], out["outputs"]) == ("W_1_2", ["f_0", "f_1"])
    assert out["derivative"] == {"f_0": jacobian["f[0]"]["W[1, 2]"], "f_1": jacobian["f[1]"]["W[1, 2]"]}
    t = np.tanh(W @ X + B)
    assert out["derivative"]["f_1"] == pytest.approx((1 - t[1] ** 2) * X[2], abs=1e-15)
    assert out["derivative"]["f_0"] == 0.0


def test_trace_forward_gives_the_reverse_gradients_element(cli):
    run = cli("trace", "w*x", "--at", "w=[1,2],x=3", "--mode", "forward", "--wrt", "w_1")
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.splitlines()[-1].startswith("∂f_0/∂w_1 = 0, ∂f_1/∂w_1 = 3 (one forward pass: ")
    out = cli("trace", "sum(tanh(W@x + b))", "--at", AT, "--mode", "forward", "--wrt", "x_1",
              "--format", "json").json()
    gradient = cli("eval", "sum(tanh(W@x + b))", "--at", AT, "--format", "json").json()["gradient"]
    assert out["derivative"]["f"] == pytest.approx(gradient["x"][1], abs=1e-15)


def test_trace_forward_by_a_whole_vector_asks_for_one_element(cli):
    assert one_error(cli("trace", "sum(W@x)", "--at", AT.rsplit(",b=", 1)[0], "--mode", "forward",
                         "--wrt", "x")) == (
        "error: --mode forward differentiates by one input: --wrt x_0 (one pass per input; eval "
        "--jacobian runs them all) (see 'gradcalc trace --help')")


def test_trace_forward_in_exact_numbers_and_to_digits(cli):
    exact = cli("trace", "sum(A@x)", "--at", "A=[[1,2],[3,-1]],x=[2,-1]", "--mode", "forward",
                "--wrt", "A_1_0", "--exact", "--format", "json").json()
    assert exact["exact"]["derivative"] == {"f": "2"}
    digits = cli("trace", "sum(tanh(W@x + b))", "--at", AT, "--mode", "forward", "--wrt", "b_0",
                 "--digits", "30", "--format", "json").json()
    t0 = np.tanh((W @ X + B)[0])
    assert float(digits["decimal"]["derivative"]["f"]) == pytest.approx(1 - t0**2, rel=1e-15)


# ---- --nonfinite ieee: inf and nan flow through the elements' circuit ----------------------

LOG_AT = "W=[[1,1],[2,1]],x=[1,-1]"  # W@x = [0, 1]: log(0) = -inf


def ieee_oracle() -> tuple[float, np.ndarray, np.ndarray]:
    """sum(log(W x)) and its gradient by numpy's formulas in IEEE arithmetic:
    dz = 1/z, dW = dz ⊗ x, dx = Wᵀ dz."""
    w, x = np.array([[1.0, 1.0], [2.0, 1.0]]), np.array([1.0, -1.0])
    with np.errstate(all="ignore"):
        z = w @ x
        dz = 1 / z
        return float(np.sum(np.log(z))), np.outer(dz, x), w.T @ dz


def as_json(a: np.ndarray) -> list:
    return [as_json(item) for item in a] if a.ndim else (
        float(a) if np.isfinite(a) else "nan" if np.isnan(a) else "inf" if a > 0 else "-inf")


def test_ieee_lets_inf_flow_through_vectors_as_numpys_formulas_give_it(cli):
    run = cli("eval", "sum(log(W@x))", "--at", LOG_AT, "--nonfinite", "ieee", "--format", "json")
    assert run.code == 0
    value, dw, dx = ieee_oracle()
    assert run.json() == {"output": "f", "value": "-inf" if value == -np.inf else value,
                          "at": {"W": [[1.0, 1.0], [2.0, 1.0]], "x": [1.0, -1.0]},
                          "gradient": {"W": as_json(dw), "x": as_json(dx)}}
    assert run.stderr.splitlines()[0] == (
        "warning: stage u2_0 = log(u1_0): non-finite value -inf: log of 0 (u1_0 = 0)")


def test_ieee_of_vectors_in_the_table_and_csv(cli):
    table = cli("eval", "sum(log(W@x))", "--at", LOG_AT, "--nonfinite", "ieee")
    assert table.code == 0
    assert table.stdout.splitlines()[0] == "f = -inf"
    assert "│ W     │ [[1, 1], [2, 1]] │ [[inf, -inf], [1, -1]] │" in table.stdout.splitlines()
    csv = cli("eval", "sum(log(W@x))", "--at", LOG_AT, "--nonfinite", "ieee", "--format", "csv")
    assert csv.stdout.splitlines() == [
        "role,name,value,gradient",
        "output,f,-inf,",
        'input,W,"[[1.0, 1.0], [2.0, 1.0]]","[[""inf"", ""-inf""], [1.0, -1.0]]"',
        'input,x,"[1.0, -1.0]","[""inf"", ""inf""]"',
    ]


def test_a_batch_line_takes_ieee_for_vectors_as_eval_does(cli):
    run = cli("eval", "--batch", "-", stdin='{"expr": "sum(log(W@x))", "at": {"W": [[1, 1], [2, 1]], '
                                             '"x": [1, -1]}, "nonfinite": "ieee"}\n')
    assert run.code == 0
    line = __import__("json").loads(run.stdout)
    assert (line["value"], line["gradient"]) == ("-inf", {"W": [["inf", "-inf"], [1.0, -1.0]], "x": ["inf", "inf"]})
    assert line["warnings"][0] == "stage u2_0 = log(u1_0): non-finite value -inf: log of 0 (u1_0 = 0)"


def test_a_mode_that_runs_on_the_elements_says_so_when_they_are_too_many(cli, monkeypatch):
    monkeypatch.setenv("GRADCALC_MAX_UNROLLED", "20")
    at = "W=" + str(np.ones((4, 4)).tolist()).replace(" ", "") + ",x=[1,1,1,1]"
    assert one_error(cli("eval", "W@x", "--at", at, "--jacobian")) == \
        ("error: limit GRADCALC_MAX_UNROLLED reached: vectors and matrices are computed here on "
         "the scalar circuit of their elements, which needs more scalar stages for stage f = W @ x "
         "(W is a 4×4 matrix, x is a 4-vector) (at most 20 scalar stages of a circuit unrolled "
         "from vectors; the written gates keep them whole); raise it with the environment "
         "variable GRADCALC_MAX_UNROLLED=N")
