"""The data engine's sweep: a chunk with no bad row is computed with few checks, and it gives
the very batch the checked loops give — bit for bit, the same bad rows, messages and kinks."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcalc.core.graph import lower
from gradcalc.core.ops import KEEPS_NONFINITE, REGISTRY
from gradcalc.data import batch
from gradcalc.data.plan import summed
from gradcalc.errors import DomainError
from gradcalc.numbers import columns

# Values that break things: zeros of both signs, the subnormal edge (1/x overflows), the
# overflow edges of exp and of products, saturation of sigmoid, and ordinary numbers.
HOSTILE = [0.0, -0.0, 5e-324, 1e-310, -1e-310, 1e-200, 1e154, 1e308, -1e308, 700.0, 710.0,
           -710.0, -750.0, 37.0, -37.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, -3.0, 1e-3]
UNARY = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
         "tanh", "sigmoid", "relu", "softplus"]
BINARY = ["+", "-", "*", "/", "^"]


@st.composite
def programs(draw):
    """A random expression over columns x, y and parameters w, v, reusing subexpressions."""
    pool = ["x", "y", "w", "v", "2", "0.5"]
    for _ in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "neg", "log2", "max"]))
        p, q = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(f"{draw(st.sampled_from(UNARY))}({p})")
        elif kind == "binary":
            pool.append(f"({p} {draw(st.sampled_from(BINARY))} {q})")
        elif kind == "neg":
            pool.append(f"(-{p})")
        elif kind == "log2":
            pool.append(f"log({p}, {q})")
        else:
            pool.append(f"{draw(st.sampled_from(['max', 'min']))}({p}, {q}, x)")
    return pool[-1]


FORMS = ["traced", "compiled", "staged"]


def use_form(monkeypatch, form):
    """The sweep traced down to the ufuncs (where every rule can be traced), compiled with
    the registry's functions called as they are, or stage by stage (a graph too large)."""
    if form == "compiled":
        monkeypatch.setattr(batch, "compile_inplace", lambda *args: None)
    if form == "staged":
        monkeypatch.setattr(batch, "COMPILED_NODES", 0)
        monkeypatch.setattr(batch, "EAGER_NODES", 0)


@pytest.fixture(params=FORMS)
def form(request, monkeypatch):
    """Each test runs the sweep in each of its forms."""
    use_form(monkeypatch, request.param)
    return request.param


def checked_only(graph, columns_, wrt_):
    """A sweep that always declines, so `run` takes the checked loops: the oracle."""
    class Declines:
        def run(self, *args):
            return None
    return Declines()


def batches(monkeypatch, graph, data, params, wrt, gradient=True):
    rows = np.arange(1, len(next(iter(data.values()))) + 1)
    swept = batch.run(graph, data, params, rows, wrt, gradient=gradient)
    with monkeypatch.context() as patch:
        patch.setattr(batch, "sweep", checked_only)
        checked = batch.run(graph, data, params, rows, wrt, gradient=gradient)
    return swept, checked


def assert_same(swept, checked):
    assert swept.rows.tolist() == checked.rows.tolist()
    assert np.asarray(swept.value).tobytes() == np.asarray(checked.value).tobytes()
    assert list(swept.grads) == list(checked.grads)
    for name in checked.grads:
        assert np.asarray(swept.grads[name]).tobytes() == np.asarray(checked.grads[name]).tobytes(), name
    assert (swept.problems.count, [(p.row, p.message, p.code) for p in swept.problems.first]) == \
        (checked.problems.count, [(p.row, p.message, p.code) for p in checked.problems.first])
    assert {k: (v.count, v.row, v.note) for k, v in swept.kinks.items()} == \
        {k: (v.count, v.row, v.note) for k, v in checked.kinks.items()}


@pytest.mark.parametrize("form_", FORMS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**32 - 1), w=st.sampled_from(HOSTILE),
       v=st.sampled_from(HOSTILE), reduce=st.booleans())
def test_the_sweep_gives_the_checked_loops_batch_on_hostile_rows(form_, source, seed, w, v, reduce):
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_form(monkeypatch, form_)
        _compare_on_hostile_rows(monkeypatch, source, seed, w, v, reduce)


def _compare_on_hostile_rows(monkeypatch, source, seed, w, v, reduce):
    try:
        graph = lower(source)
    except Exception:  # a random text the grammar refuses (a constant alone, say)
        return
    names = set(graph.input_names)
    rng = np.random.default_rng(seed)
    data = {name: rng.choice(HOSTILE, size=24) for name in ("x", "y") if name in names}
    if not data:
        return
    params = {name: value for name, value in (("w", w), ("v", v)) if name in names}
    wrt = tuple(params) if reduce else graph.input_names
    try:
        swept, checked = batches(monkeypatch, graph, data, params, wrt)
    except DomainError as exc:  # parameters alone overflow: both raise the same error
        with pytest.raises(DomainError) as again:
            with monkeypatch.context() as patch:
                patch.setattr(batch, "sweep", checked_only)
                batch.run(graph, data, params, np.arange(1, 25), wrt)
        assert str(again.value) == str(exc)
        return
    assert_same(swept, checked)


def test_a_bad_row_found_by_the_sweep_is_named_by_the_checked_loops(monkeypatch, form):
    """sqrt'(0) is infinite: only the gradient of x shows it, and when it is asked for, the row
    is bad; ∂f/∂w = sqrt(x) alone needs no derivative of sqrt."""
    graph = lower("w*sqrt(x)")
    data = {"x": np.array([1.0, 0.0, 4.0])}
    swept, checked = batches(monkeypatch, graph, data, {"w": 2.0}, ("w",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 2, 3] and not swept.problems.first
    swept, checked = batches(monkeypatch, graph, data, {"w": 2.0}, ("w", "x"))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 3]
    assert [p.message for p in swept.problems.first] == [
        "row 2: stage u1 = sqrt(x): the derivative with respect to x is undefined or infinite "
        "here (x = 0)"]


def test_a_value_that_sigmoid_hides_is_still_a_bad_row(monkeypatch, form):
    """exp overflows to inf, and sigmoid(inf) = 1 would hide it from the output: the sweep
    checks the stage before the sigmoid, so the row is named as before."""
    graph = lower("sigmoid(exp(x))*w")
    data = {"x": np.array([1.0, 800.0, 2.0])}
    swept, checked = batches(monkeypatch, graph, data, {"w": 0.5}, ("w",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 3]
    assert swept.problems.first[0].message == "row 2: stage u1 = exp(x): overflow (x = 800)"


def test_a_gradient_nobody_asked_for_is_not_computed_and_fails_no_row(monkeypatch, form):
    """∂f/∂x = v·y overflows on row 2 (1e10 · 1e300), where the value (1e290) and ∂f/∂v
    (1e280) are finite: only ∂f/∂v is asked for, so row 2 is a good row, in the sweep and in
    the checked loops alike. Asked for as well, ∂f/∂x makes row 2 bad."""
    graph = lower("y*(v*x)")
    data = {"x": np.array([1.0, 1e-20, 3.0]), "y": np.array([1.0, 1e300, 2.0])}
    swept, checked = batches(monkeypatch, graph, data, {"v": 1e10}, ("v",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 2, 3] and swept.totals is not None
    assert swept.grads["v"].tolist() == [1.0, 1e280, 6.0]
    swept, checked = batches(monkeypatch, graph, data, {"v": 1e10}, ("v", "x"))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 3]
    assert [p.message for p in swept.problems.first] == [
        "row 2: the gradient with respect to x is not finite (overflow while accumulating it)"]


def test_eval_over_data_reports_what_it_can_compute(tmp_path):
    """exp(709) is finite and so is ∂f/∂w = x·exp(w·x) at x = 1; ∂f/∂x = w·exp(w·x)
    overflows, but eval --data --at w=... reports ∂f/∂w alone."""
    path = tmp_path / "points.csv"
    path.write_text("x\n1\n0.5\n")
    run = run_cli("eval", "exp(w*x)", "--data", str(path), "--at", "w=709", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    expected = (math.exp(709) * 1 + math.exp(354.5) * 0.5) / 2
    assert math.isclose(run.json()["gradient"]["w"], expected, rel_tol=1e-12)


def test_a_chunk_with_no_bad_row_is_one_sweep_with_its_sums_taken(monkeypatch, form):
    graph = lower("z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)")
    rng = np.random.default_rng(0)
    data = {"x1": rng.normal(size=50), "x2": rng.normal(size=50), "y": rng.integers(0, 2, 50) * 1.0}
    swept, checked = batches(monkeypatch, graph, data, {"w1": 0.7, "w2": -1.3, "b": 0.2},
                             ("w1", "w2", "b"))
    assert_same(swept, checked)
    assert checked.totals is None
    total, sums = swept.totals
    assert total == float(np.sum(checked.value))
    assert sums == {name: float(np.sum(checked.grads[name])) for name in ("w1", "w2", "b")}
    # the numbers against the lecture's formulas: a = σ(z), dz = a - y
    z = 0.7 * data["x1"] - 1.3 * data["x2"] + 0.2
    a = 1 / (1 + np.exp(-z))
    assert np.allclose(swept.grads["w1"], (a - data["y"]) * data["x1"], rtol=1e-12, atol=0)
    assert np.allclose(swept.grads["b"], a - data["y"], rtol=1e-12, atol=0)


def test_the_sweep_checks_only_the_stages_whose_bad_values_could_hide():
    """In the logistic loss every stage but z reaches the output through operations that keep
    inf and nan; sigmoid does not (sigmoid(inf) = 1), so z alone is checked on its own."""
    graph = lower("z = w1*x1 + w2*x2 + b; a = sigmoid(z); L = -y*log(a) - (1-y)*log(1-a)")
    found = batch.sweep(graph, ("x1", "x2", "y"), ("w1", "w2", "b"))
    assert [graph.nodes[i].name for i in found.checked] == ["z"]
    assert batch.sweep(graph, ("x1", "x2", "y"), ("w1", "w2", "b")) is found  # laid out once per graph


SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-310, 5e-324, 1e308, -1e308,
           math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", sorted(KEEPS_NONFINITE))
def test_each_kept_argument_carries_inf_and_nan_to_the_value(name):
    """The claim `KEEPS_NONFINITE` makes, tried against every special value for the other
    arguments, on the numpy columns the data engine computes with."""
    op = REGISTRY[name]
    arity = op.arity[0]
    for k in KEEPS_NONFINITE[name]:
        for bad in (math.inf, -math.inf, math.nan):
            for others in itertools.product(SPECIAL, repeat=arity - 1):
                args = [np.array([x]) for x in others]
                args.insert(k, np.array([bad]))
                with np.errstate(all="ignore"):
                    out = op.forward(columns, *args)
                assert not np.isfinite(out).any(), (name, k, bad, others)


def test_cells_checked_by_their_sum_stay_silent_when_it_overflows():
    """1e308 + 1e308 overflows, yet both cells are finite: no bad row, and no numpy warning."""
    import warnings

    from gradcalc.data.files import checked_chunk

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chunk = checked_chunk(np.arange(1, 4), {"x": np.array([1e308, 1e308, -1.0])}, str)
        bad = checked_chunk(np.arange(1, 3), {"x": np.array([1e308, np.inf])}, lambda name, k: "inf")
    assert chunk.bad is None and chunk.problems.count == 0
    assert bad.bad.tolist() == [False, True]
    assert [p.message for p in bad.problems.first] == ["row 2, column x: 'inf' is not a finite number"]


def test_a_chunk_with_a_bad_derivative_and_a_bad_gradient_names_each_row(tmp_path):
    """Row 1's d/dy log(y, y) is infinite (y is the smallest subnormal); row 2's ∂f/∂y overflows.
    Marking the gradient's row in the derivatives' record once named an input's k-th
    argument (exit 1, an internal error); and a derivative found after a gradient dropped it."""


    path = tmp_path / "points.csv"
    path.write_text("x,y\n0,5e-324\n1e154,1e-310\n")
    failed = run_cli("eval", "x * (x + log(y, y))", "--data", str(path), "--reduce", "none")
    assert (failed.code, failed.stdout) == (3, "")
    assert failed.stderr == ("error: row 1: stage u1 = log(y, y): the derivative with respect to y "
                             "is undefined or infinite here (y = 4.94066e-324, y = 4.94066e-324)\n")
    skipped = run_cli("eval", "x * (x + log(y, y))", "--data", str(path), "--reduce", "none",
                      "--on-error", "skip")
    assert (skipped.code, skipped.stdout) == (0, "row,f,df/dx,df/dy\n")
    assert skipped.stderr.splitlines() == [
        "warning: skipped 2 bad rows of 2 (rows 1, 2); the result uses the other 0",
        "warning: row 1: stage u1 = log(y, y): the derivative with respect to y is undefined or "
        "infinite here (y = 4.94066e-324, y = 4.94066e-324)",
        "warning: row 2: the gradient with respect to y is not finite (overflow while "
        "accumulating it)"]


GRID_EXPRESSIONS = ["w*sqrt(x)", "w*log(x) + y", "asin(x)*w", "w*x/y", "y*(v*x)", "sigmoid(x*w)*y",
                    "w*x^y", "exp(w*x) - y", "relu(x - w)*y", "max(x, y, w)*v", "abs(x)*w + y",
                    "tanh(x*w)/y", "log(1 - sigmoid(w*x))*y", "x*(x + log(y, y))", "-(y - w)*x",
                    "softplus(w*x) - y*x*w", "cosh(x)*v + sinh(y)*w", "atan(x/y)*w"]


@pytest.mark.parametrize("source", GRID_EXPRESSIONS)
def test_the_sweep_agrees_on_every_pair_of_hostile_values(monkeypatch, form, source):
    """Each pair (x, y) of HOSTILE values is a chunk of its own, so that one bad row does not
    send the whole chunk to the checked loops: the sweep and the checked loops keep the same
    rows and say the same about the others, reduced or row by row."""
    graph = lower(source)
    inputs = graph.input_names
    for w in (0.5, 1e10):
        params = {name: value for name, value in (("w", w), ("v", 1e300)) if name in inputs}
        for x, y in itertools.product(HOSTILE, repeat=2):
            data = {name: np.array([value]) for name, value in (("x", x), ("y", y)) if name in inputs}
            for wrt in (tuple(params), inputs):
                assert_same(*batches(monkeypatch, graph, data, params, wrt))


@pytest.mark.parametrize("cell, error", [("", "error: row 1, column y: empty cell\n"),
                                         ("nan", "error: row 1, column y: 'nan' is not a finite number\n")])
def test_a_file_whose_only_row_is_bad_names_that_row(tmp_path, cell, error):
    """Found by scripts/fuzz.py: once the bad row was dropped, the sweep of the chunk left with
    no rows took the largest magnitude of an empty column (an internal error)."""
    path = tmp_path / "rows.csv"
    path.write_text(f"x,y\n1,{cell}\n")
    run = run_cli("eval", "(w*x - y)**2", "--data", str(path), "--at", "w=0.5")
    assert (run.code, run.stdout, run.stderr) == (2, "", error)
    skipped = run_cli("eval", "(w*x - y)**2", "--data", str(path), "--at", "w=0.5", "--on-error", "skip")
    assert (skipped.code, skipped.stdout) == (2, "")
    assert skipped.stderr.endswith(f"error: --data {path}: no rows to reduce (all 1 rows were skipped)\n")


def test_a_sum_that_overflows_only_over_the_rows_is_no_bad_row(monkeypatch, form):
    """Every row is finite and so is every gradient; only the chunk's sums overflow. The
    rows stay, and the sums reduce (scaled) to the checked loops' numbers."""
    graph = lower("w*x + y")
    data = {"x": np.array([1e308, 1e308, -0.0]), "y": np.array([0.0, 0.5, -0.0])}
    swept, checked = batches(monkeypatch, graph, data, {"w": 1.5}, ("w",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 2, 3]
    assert summed([swept], ("w",)) == summed([checked], ("w",))
    value, sums = summed([swept], ("w",))
    assert value.scaled is not None and sums["w"].scaled is not None
    assert value.times(1 / 3, "mean") == 1e308
    assert math.isclose(sums["w"].times(1 / 3, "mean"), 1e308 / 3 * 2, rel_tol=1e-15)


@pytest.mark.parametrize("source, x", [("-(w*x)", [-0.0, 0.0, -0.0]), ("y - w*x", [0.0, -0.0, 0.0]),
                                       ("-(-(w*x) - y*w)", [-0.0, -0.0, -0.0])])
def test_zeros_keep_the_checked_loops_signs(monkeypatch, form, source, x):
    """Gradients of zero, each row's and the sums': the sign the checked loops give, for a
    gradient that the sweep carries negated as much as for one it carries as it is."""
    graph = lower(source)
    data = {"x": np.array(x), "y": np.array([0.0, -0.0, 0.0])}
    swept, checked = batches(monkeypatch, graph, data, {"w": -0.0}, ("w",))
    assert_same(swept, checked)
    (total, sums), (value, grads) = swept.totals, summed([checked], ("w",))
    assert (math.copysign(1, total), math.copysign(1, sums["w"])) == \
        (math.copysign(1, value.value), math.copysign(1, grads["w"].value))


def test_a_gradient_that_overflows_where_the_value_does_not_makes_the_row_bad(monkeypatch, form):
    """exp(709.6) is finite, ∂/∂w = 2·exp(709.6) is not: row 2 is bad when ∂/∂w is asked for."""
    graph = lower("exp(w*x) - y")
    data = {"x": np.array([1.0, 2.0, 0.5]), "y": np.array([1.0, 2.0, 3.0])}
    swept, checked = batches(monkeypatch, graph, data, {"w": 354.8}, ("w",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 3]
    assert [p.message for p in swept.problems.first] == [
        "row 2: the gradient with respect to w is not finite (overflow while accumulating it)"]
    swept, checked = batches(monkeypatch, graph, data, {"w": 354.8}, ("y",))
    assert_same(swept, checked)
    assert swept.rows.tolist() == [1, 2, 3]


def test_a_gradient_that_is_a_strided_column_sums_as_the_checked_loops_sum_it(monkeypatch, form):
    """∂(w*x)/∂w is the column x itself, here every other element of an array: its sum is
    taken on the column as it is, and it is the sum of the checked loops' copy, bit for bit."""
    graph = lower("w*x")
    spread = np.random.default_rng(3).normal(size=80_002) * np.exp(np.random.default_rng(4).normal(size=80_002) * 5)
    data = {"x": spread[::2]}
    swept, checked = batches(monkeypatch, graph, data, {"w": 0.5}, ("w",))
    assert_same(swept, checked)
    assert summed([swept], ("w",)) == summed([checked], ("w",))


def test_the_reported_gradients_are_made_only_when_read(monkeypatch):
    """A reduction that has the sums reads no gradient column; one that reads them gets the
    checked loops' columns (`assert_same` above)."""
    graph = lower("w*x + v*y")
    data = {"x": np.arange(4.0), "y": np.arange(4.0) - 2}
    swept, _ = batches(monkeypatch, graph, data, {"w": 0.5, "v": 2.0}, ("w", "v"))
    made = []
    monkeypatch.setattr(batch, "_full", lambda value, n: made.append(value) or value)
    summed([swept], ("w", "v"))
    assert made == []
    swept.grads["w"]
    assert len(made) == 1


def _stream(source, data, at, *, on_error="skip", chunk_rows=4):
    """The batches of a plan over in-memory columns, and what the stream noted."""
    from gradcalc.core.values import Point
    from gradcalc.data.files import MemoryTable
    from gradcalc.data.plan import Stream, plan_data

    plan = plan_data(source, MemoryTable(data), Point(at), on_error=on_error, chunk_rows=chunk_rows)
    stream = Stream(plan)
    return list(stream), stream


CELL_CASES = [  # chunks of 4 rows; the chunks whose cells are searched
    ("(w*x - y)**2", {"x": [1.0, np.inf, 2.0, -0.0, 3.0, 4.0, np.nan], "y": [1.0, 2.0, -np.inf, 0.0, 1.0, 0.5, 1.0]},
     [[1, 2, 3, 4], [5, 6, 7]]),
    ("(w*x - y)**2", {"x": [1.0, 2.0, 2.0, -0.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 0.0, 1.0, np.nan]}, [[5, 6]]),
    ("sigmoid(x)*w + y", {"x": [1.0, np.inf, 2.0, -np.inf, 3.0], "y": [0.0, 1.0, 2.0, 3.0, 1.0]},
     [[1, 2, 3, 4], [5]]),  # sigmoid(inf) is 1: the cells of x are always searched
    ("w*x", {"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}, []),
]


@pytest.mark.parametrize("source, data, searched_chunks", CELL_CASES)
def test_cells_proved_finite_by_the_sweep_are_not_searched_and_bad_cells_still_are(
        monkeypatch, source, data, searched_chunks):
    """A chunk's cells are searched only when the sweep cannot vouch for them: each bad
    cell is named as before, with the same rows kept and the same numbers, as when every
    chunk is searched first."""
    from gradcalc.data import files

    searched = []
    real = files.checked_chunk
    monkeypatch.setattr(files, "checked_chunk", lambda rows, *args: searched.append(rows.tolist()) or real(rows, *args))
    data = {name: np.array(values) for name, values in data.items()}
    batches_, stream = _stream(source, data, {"w": "0.5"})
    assert searched == searched_chunks
    with monkeypatch.context() as patch:
        patch.setattr("gradcalc.data.plan.run_unchecked", lambda *args, **kwargs: None)
        expected, checked = _stream(source, data, {"w": "0.5"})
    assert len(batches_) == len(expected)
    for got, want in zip(batches_, expected):
        assert_same(got, want)
    assert stream.notes() == checked.notes() and stream.used == checked.used


def test_a_bad_cell_in_a_chunk_the_sweep_would_vouch_for_is_still_an_error(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x,y\n1,2\n3,inf\n")
    run = run_cli("eval", "(w*x - y)**2", "--data", str(path), "--at", "w=0.5")
    assert (run.code, run.stdout, run.stderr) == (2, "", "error: row 2, column y: 'inf' is not a finite number\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**32 - 1), w=st.sampled_from(HOSTILE))
def test_random_programs_over_cells_with_inf_and_nan_keep_the_searched_chunks_results(source, seed, w):
    """Whether or not the sweep vouches for a chunk's cells, the stream gives the batches and
    the notes it gives when every chunk's cells are searched first."""
    try:
        graph = lower(source)
    except Exception:  # a random text the grammar refuses
        return
    names = set(graph.input_names)
    rng = np.random.default_rng(seed)
    cells = HOSTILE + [math.inf, -math.inf, math.nan]
    data = {name: rng.choice(cells, size=12) for name in ("x", "y") if name in names}
    if not data:
        return
    at = {name: repr(value) for name, value in (("w", w), ("v", 0.5)) if name in names}
    with pytest.MonkeyPatch.context() as monkeypatch:
        try:
            got, stream = _stream(source, data, at)
        except DomainError as exc:  # parameters alone overflow: both raise the same error
            monkeypatch.setattr("gradcalc.data.plan.run_unchecked", lambda *args, **kwargs: None)
            with pytest.raises(DomainError) as again:
                _stream(source, data, at)
            assert str(again.value) == str(exc)
            return
        monkeypatch.setattr("gradcalc.data.plan.run_unchecked", lambda *args, **kwargs: None)
        expected, searched = _stream(source, data, at)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert_same(a, b)
    assert stream.notes() == searched.notes() and stream.used == searched.used


def test_a_large_graph_is_compiled_from_its_second_chunk_on(monkeypatch):
    """A file of one chunk does not wait for a large graph to compile; later chunks run
    through the compiled sweep, with the same numbers."""
    monkeypatch.setattr(batch, "EAGER_NODES", 5)
    compiled = []
    real = batch.compile_inplace
    monkeypatch.setattr(batch, "compile_inplace", lambda *args: compiled.append(args[0]) or real(*args))
    graph = lower("sigmoid(w*x - y)*v + w*y")
    data = {"x": np.array([1.0, -2.0, 0.5]), "y": np.array([0.0, 1.0, 3.0])}
    first, checked = batches(monkeypatch, graph, data, {"w": 0.5, "v": 2.0}, ("w", "v"))
    assert compiled == []
    second, _ = batches(monkeypatch, graph, data, {"w": 0.5, "v": 2.0}, ("w", "v"))
    assert compiled == [graph]
    assert_same(first, checked)
    assert_same(second, checked)
