"""`eval --data` with vectors: the columns x0, x1, ... feed a vector input x row by row, a
vector given with --at is a parameter, and the mean over the rows is the seeds' vectorised
formulas (dw = X·dzᵀ/m, db = mean(dz)), shaped as at a point (element by element, w_0 and
w_1, with --gates scalar)."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import one_error

LOSS = "-y*log(sigmoid(dot(w,x)+b)) - (1-y)*log(1-sigmoid(dot(w,x)+b))"
W, B = np.array([-4.0, 3.0]), -1.0


def write_csv(path, header: list[str], rows: np.ndarray) -> str:
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(repr, row)) + "\n"
                                                     for row in rows.tolist()))
    return str(path)


@pytest.fixture
def logistic(tmp_path):
    """Twenty points in the plane with labels: X (2×m) as the seeds write it, y, and the file."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2, 20))
    y = (rng.random(20) < 0.5).astype(float)
    return X, y, write_csv(tmp_path / "points.csv", ["x0", "x1", "y"], np.vstack([X, y]).T)


def seeds_formulas(X: np.ndarray, y: np.ndarray):
    """The seeds' vectorised logistic regression: z = wᵀX + b, dz = a − y, dw = X·dzᵀ/m."""
    m = X.shape[1]
    a = 1 / (1 + np.exp(-(W @ X + B)))
    loss = np.mean(-y * np.log(a) - (1 - y) * np.log(1 - a))
    dz = a - y
    return loss, X @ dz / m, np.mean(dz)


@pytest.mark.parametrize("gates", ["written", "scalar"])
def test_the_columns_feed_a_vector_input_and_give_the_seeds_vectorised_gradient(cli, logistic, gates):
    X, y, path = logistic
    run = cli("eval", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--gates", gates, "--format", "json")
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    loss, dw, db = seeds_formulas(X, y)
    result = run.json()
    assert result["value"] == pytest.approx(loss, rel=1e-12)
    if gates == "scalar":  # the circuit of elements, as at a point
        assert list(result["gradient"]) == ["w_0", "w_1", "b"]
        assert result["at"] == {"w_0": -4.0, "w_1": 3.0, "b": -1.0}
        dw_got = [result["gradient"]["w_0"], result["gradient"]["w_1"]]
    else:
        assert list(result["gradient"]) == ["w", "b"]
        assert result["at"] == {"w": [-4.0, 3.0], "b": -1.0}
        dw_got = result["gradient"]["w"]
    assert dw_got == pytest.approx(dw, rel=1e-12)
    assert result["gradient"]["b"] == pytest.approx(db, rel=1e-12)
    assert result["rows"] == 20


def test_wrt_a_vector_parameter_stands_for_its_elements(cli, logistic):
    X, y, path = logistic
    run = cli("eval", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--wrt", "w", "--format", "json")
    assert run.code == 0, run.stderr
    assert list(run.json()["gradient"]) == ["w"]
    run = cli("eval", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--wrt", "w", "--gates", "scalar",
              "--format", "json")
    assert list(run.json()["gradient"]) == ["w_0", "w_1"]


def test_per_row_gradients_of_a_column_vector_are_named_after_its_columns(cli, logistic):
    X, y, path = logistic
    run = cli("eval", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--reduce", "none", "--wrt", "x")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "row,f,df/dx0,df/dx1"
    a = 1 / (1 + np.exp(-(W @ X + B)))
    dx = np.outer(W, a - y)  # ∂loss/∂x = w·dz, one column per row
    got = np.array([[float(cell) for cell in line.split(",")[2:]] for line in lines[1:]]).T
    assert got == pytest.approx(dx, rel=1e-12)


def test_a_matrix_parameter_times_a_column_vector_gives_dZ_at_X_transposed(cli, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 8))  # one column per row of the file
    Wm, b = np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]]), np.array([0.5, -0.5])
    path = write_csv(tmp_path / "x.csv", ["x0", "x1", "x2"], X.T)
    run = cli("eval", "sum(sigmoid(W@x + b))", "--data", path, "--at",
              "W=[[1,-2,0.5],[0.25,1,-1]],b=[0.5,-0.5]", "--format", "json")
    assert run.code == 0, run.stderr
    A = 1 / (1 + np.exp(-(Wm @ X + b[:, None])))
    dZ = A * (1 - A)
    gradient = run.json()["gradient"]
    assert run.json()["value"] == pytest.approx(A.sum(axis=0).mean(), rel=1e-12)
    assert np.array(gradient["W"]) == pytest.approx(dZ @ X.T / 8, rel=1e-12)
    assert gradient["b"] == pytest.approx(dZ.mean(axis=1), rel=1e-12)


def test_a_vector_parameter_times_a_scalar_column(cli):
    run = cli("eval", "sum(w*x)", "--at", "w=[1,2]", "--data", "examples/points.csv", "--format", "json", "-q")
    assert run.code == 0, run.stderr
    x = np.loadtxt("examples/points.csv", delimiter=",", skiprows=1)[:, 0]
    assert run.json()["value"] == pytest.approx(3 * x.mean(), rel=1e-12)
    assert run.json()["gradient"]["w"] == pytest.approx([x.mean(), x.mean()], rel=1e-12)


def test_a_gap_in_the_numbered_columns_is_named(cli, tmp_path):
    path = write_csv(tmp_path / "gap.csv", ["x0", "x2", "y"], np.array([[1.0, 2.0, 1.0]]))
    assert one_error(cli("eval", LOSS, "--data", path, "--at", "w=[-4,3],b=-1")) == (
        f"error: --data {path}: the columns x0, x2 would feed the vector x, but x1 is missing: "
        "name the columns x0 to x1, without a gap")


def test_naming_the_vector_and_its_element_columns_is_refused(cli, logistic):
    path = logistic[2]
    assert one_error(cli("eval", "sum(x) + x0", "--data", path)) == (
        f"error: --data {path}: the expression names both the vector x and its elements (x0): "
        "use one or the other")


def test_a_vector_output_over_data_is_refused_as_at_a_point(cli):
    assert one_error(cli("descend", "w*x", "--at", "w=[1,2]", "--data", "examples/points.csv", "-q")) == (
        "error: the output f is a 2-vector: a gradient needs a scalar output; reduce it (sum(f), "
        "norm(...)) or take one element (f[0])")


def test_the_example_file_gives_the_gradient_of_the_scalar_program(cli):
    vectorised = cli("eval", LOSS, "--data", "examples/logistic/vectors.csv", "--at", "w=[-4,3],b=-1",
                     "--format", "json")
    scalar = cli("eval", "-f", "examples/logistic/loss.txt", "--data", "examples/logistic/data.csv",
                 "--at", "w1=-4,w2=3,b=-1", "--format", "json")
    assert vectorised.code == scalar.code == 0, vectorised.stderr + scalar.stderr
    ours, theirs = vectorised.json(), scalar.json()
    assert ours["value"] == pytest.approx(theirs["value"], rel=1e-12)
    assert [*ours["gradient"]["w"], ours["gradient"]["b"]] == pytest.approx(
        [theirs["gradient"][k] for k in ("w1", "w2", "b")], rel=1e-12)


# ---- a vector parameter comes back shaped, as at a point ------------------------------------

def test_the_table_and_csv_show_a_vector_parameter_as_eval_at_a_point_does(cli):
    table = cli("eval", LOSS, "--data", "examples/logistic/vectors.csv", "--at", "w=[-4,3],b=-1")
    assert table.code == 0, table.stderr
    assert "│ w     │ [-4, 3] │ [-0.937486, -0.315026] │" in table.stdout
    csv = cli("eval", LOSS, "--data", "examples/logistic/vectors.csv", "--at", "w=[-4,3],b=-1",
              "--format", "csv").stdout.splitlines()
    assert csv[0] == "role,name,value,gradient"
    assert csv[2].startswith('input,w,"[-4.0, 3.0]","[-0.93748560368653')


def test_the_python_api_gives_a_vector_parameters_gradient_as_an_array(logistic):
    import gradcalc

    X, y, path = logistic
    result = gradcalc.evaluate(LOSS, data=path, w=[-4, 3], b=-1)
    _, dw, db = seeds_formulas(X, y)
    assert result.gradient["w"].shape == (2,)
    assert result.gradient["w"] == pytest.approx(dw, rel=1e-12)
    assert list(gradcalc.evaluate(LOSS, data=path, w=[-4, 3], b=-1, gates="scalar").gradient) == [
        "w_0", "w_1", "b"]


def descended(X: np.ndarray, y: np.ndarray, lr: float, steps: int):
    """Gradient descent written by hand with the seeds' formulas: w -= lr·X·dzᵀ/m, b -= lr·mean(dz)."""
    w, b, m = W.copy(), B, X.shape[1]
    for _ in range(steps):
        dz = 1 / (1 + np.exp(-(w @ X + b))) - y
        w, b = w - lr * X @ dz / m, b - lr * np.mean(dz)
    dz = 1 / (1 + np.exp(-(w @ X + b))) - y
    return w, b, X @ dz / m


def test_descend_over_data_trains_a_vector_parameter_and_reports_it_whole(cli, logistic, tmp_path):
    X, y, path = logistic
    history = tmp_path / "history.csv"
    run = cli("descend", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--lr", "0.5", "--steps", "40",
              "--history", str(history), "--format", "json")
    assert run.code == 0, run.stderr
    out = run.json()
    w, b, dw = descended(X, y, 0.5, 40)
    assert out["start"] == {"w": [-4.0, 3.0], "b": -1.0}
    assert out["at"]["w"] == pytest.approx(w, rel=1e-12) and out["at"]["b"] == pytest.approx(b, rel=1e-12)
    assert out["gradient"]["w"] == pytest.approx(dw, rel=1e-12)
    lines = history.read_text().splitlines()
    assert lines[0] == "step,loss,w[0],w[1],b"  # the columns of descend at a point
    assert [float(v) for v in lines[-1].split(",")[2:]] == pytest.approx([*w, b], rel=1e-12)
    scalar = cli("descend", LOSS, "--data", path, "--at", "w=[-4,3],b=-1", "--lr", "0.5", "--steps", "40",
                 "--gates", "scalar", "--format", "json").json()
    assert list(scalar["at"]) == ["w_0", "w_1", "b"]
    assert [scalar["at"]["w_0"], scalar["at"]["w_1"]] == pytest.approx(w, rel=1e-12)


def test_several_outputs_over_data_give_a_vector_parameters_jacobian_row_shaped(cli):
    run = cli("eval", f"f = {LOSS}; g = sum(w*w)", "--output", "f,g", "--data",
              "examples/logistic/vectors.csv", "--at", "w=[-4,3],b=-1", "--format", "json")
    assert run.code == 0, run.stderr
    assert run.json()["jacobian"]["g"] == {"w": [-8.0, 6.0], "b": 0.0}


# ---- .npy files and arrays in memory that feed a vector per row -----------------------------

def test_a_structured_npy_field_of_n_numbers_feeds_the_vector_x(cli, logistic, tmp_path):
    X, y, _ = logistic
    records = np.zeros(20, dtype=[("x", "f8", (2,)), ("y", "f8")])
    records["x"], records["y"] = X.T, y
    np.save(tmp_path / "points.npy", records)
    run = cli("eval", LOSS, "--data", str(tmp_path / "points.npy"), "--at", "w=[-4,3],b=-1", "--format", "json")
    assert run.code == 0, run.stderr
    loss, dw, db = seeds_formulas(X, y)
    assert run.json()["value"] == pytest.approx(loss, rel=1e-12)
    assert run.json()["gradient"]["w"] == pytest.approx(dw, rel=1e-12)
    assert run.json()["gradient"]["b"] == pytest.approx(db, rel=1e-12)


def test_a_plain_2d_npy_is_read_with_the_column_names_given(cli, logistic, tmp_path):
    X, y, _ = logistic
    np.save(tmp_path / "all.npy", np.vstack([X, y]).T)
    run = cli("eval", LOSS, "--data", str(tmp_path / "all.npy"), "--header", "x0,x1,y",
              "--at", "w=[-4,3],b=-1", "--format", "json")
    assert run.code == 0, run.stderr
    _, dw, db = seeds_formulas(X, y)
    assert run.json()["gradient"]["w"] == pytest.approx(dw, rel=1e-12)
    assert run.json()["gradient"]["b"] == pytest.approx(db, rel=1e-12)


def test_one_name_makes_a_plain_2d_npy_the_vector_x_of_each_row(cli, tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, 8))  # one column per row of the file, as the seeds write X
    np.save(tmp_path / "X.npy", X.T)
    Wm, b = np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]]), np.array([0.5, -0.5])
    run = cli("eval", "sum(sigmoid(W@x + b))", "--data", str(tmp_path / "X.npy"), "--header", "x",
              "--at", "W=[[1,-2,0.5],[0.25,1,-1]],b=[0.5,-0.5]", "--format", "json")
    assert run.code == 0, run.stderr
    A = 1 / (1 + np.exp(-(Wm @ X + b[:, None])))
    dZ = A * (1 - A)
    assert np.array(run.json()["gradient"]["W"]) == pytest.approx(dZ @ X.T / 8, rel=1e-12)
    assert run.json()["gradient"]["b"] == pytest.approx(dZ.mean(axis=1), rel=1e-12)


def test_the_python_api_reads_an_array_of_rows_as_a_vector_column(logistic, tmp_path):
    import gradcalc

    X, y, _ = logistic
    _, dw, db = seeds_formulas(X, y)
    in_memory = gradcalc.evaluate(LOSS, data={"x": X.T, "y": y}, w=[-4, 3], b=-1)
    assert in_memory.gradient["w"] == pytest.approx(dw, rel=1e-12)
    np.save(tmp_path / "all.npy", np.vstack([X, y]).T)
    from_file = gradcalc.evaluate(LOSS, data=tmp_path / "all.npy", header=["x0", "x1", "y"], w=[-4, 3], b=-1)
    assert from_file.gradient["b"] == pytest.approx(db, rel=1e-12)
    with pytest.raises(gradcalc.UsageError, match=r"^header names the columns of a plain .npy file; data in memory"):
        gradcalc.evaluate(LOSS, data={"x": X.T, "y": y}, header=["x"], w=[-4, 3], b=-1)


@pytest.fixture
def npy_files(tmp_path):
    np.save(tmp_path / "plain.npy", np.zeros((4, 3)))
    np.save(tmp_path / "column.npy", np.zeros(4))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "fields.npy", np.zeros(4, dtype=[("x", "f8", (2,)), ("y", "f8")]))
    np.save(tmp_path / "matrices.npy", np.zeros(4, dtype=[("X", "f8", (2, 2))]))
    return tmp_path


@pytest.mark.parametrize("name, extra, message", [
    ("plain.npy", (), "a plain array of shape (4, 3) has no column names: name them with --header "
                      "x0,x1,... (3 names), or with one name, x for the vector x (x0 to x2)"),
    ("column.npy", (), "a plain array of shape (4,) has no column names: name it with --header y"),
    ("cube.npy", (), "a plain array of shape (2, 2, 2) has no column names: save a 2-D array (one row "
                     "per data row) or a 1-D structured array"),
    ("plain.npy", ("--header", "x,y"), "--header gives 2 names for the 3 columns of the array: give 3, "
                                         "or one name for a vector of 3 numbers per row"),
    ("fields.npy", ("--header", "x"), "--header names the columns of a plain .npy array; this "
                                       "structured array names its own (x, y): leave it out"),
    ("matrices.npy", (), "field X holds a 2×2 array in each row; a field holds a number or a vector "
                         "(n numbers) per row"),
])
def test_npy_files_that_do_not_say_their_columns_are_refused_naming_the_fix(cli, npy_files, name, extra, message):
    path = str(npy_files / name)
    assert one_error(cli("eval", "sum(x)", "--data", path, *extra)) == f"error: --data {path}: {message}"


def test_column_names_are_for_plain_npy_files_given_with_data(cli, npy_files):
    assert one_error(cli("eval", "sum(x)", "--data", "examples/logistic/vectors.csv", "--header", "x")) == (
        "error: --data examples/logistic/vectors.csv: --header names the columns of a plain 2-D .npy "
        "array; the columns of this file have names of their own: leave it out")
    for command in ("eval", "descend"):
        assert one_error(cli(command, "sum(x)", "--at", "x=[1,2]", "--header", "x")) == (
            "error: --header names the columns of a plain 2-D .npy array given with --data FILE: give "
            f"--data too (see 'gradcalc {command} --help')")


def test_the_gradient_of_some_elements_of_a_matrix_stays_by_element(cli):
    run = cli("eval", "sum(W@x)", "--data", "examples/logistic/vectors.csv", "--at", "W=[[1,2],[3,4]]",
              "--wrt", "W_0_1", "--format", "json", "-q")
    assert run.code == 0, run.stderr
    x1 = np.loadtxt("examples/logistic/vectors.csv", delimiter=",", skiprows=1)[:, 1]
    assert run.json()["at"] == {"W_0_0": 1.0, "W_0_1": 2.0, "W_1_0": 3.0, "W_1_1": 4.0}
    assert run.json()["gradient"] == pytest.approx({"W_0_1": x1.mean()}, rel=1e-12)
    table = cli("eval", "sum(W@x)", "--data", "examples/logistic/vectors.csv", "--at", "W=[[1,2],[3,4]]",
                "--wrt", "W_0_1", "-q")
    assert table.code == 0 and "│ W_0_1 │     2 │" in table.stdout
