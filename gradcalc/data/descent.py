"""Gradient descent: w := w − lr·∂J/∂w, step after step, on the reduced loss over a data file
or on the expression's value at one point (its data given as values, vectors and matrices).

With a data file the needed columns are read once into memory (float64, 8 bytes per row and
column); every step then runs the batch engine on all rows (full batch) or on the next
`batch_size` rows of a shuffled order (minibatches; a new shuffle each epoch, drawn from `seed`).
At one point every step is one evaluation of value and gradient (on numpy arrays when a value
is a vector or a matrix), and each parameter moves as a whole array.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from gradcalc.core.autodiff import Result, check_inputs, check_wrt, evaluate
from gradcalc.core.graph import Graph
from gradcalc.data.batch import run
from gradcalc.data.compiled import MAX_NODES, MIN_STEPS, Steps
from gradcalc.data.plan import Plan, Stream, Total
from gradcalc.data.problems import Problems
from gradcalc.data.shaped import folded
from gradcalc.errors import DataError, DomainError, UsageError


@dataclass
class Descent:
    """Parameter values are floats, or numpy arrays for vectors and matrices (at one point)."""

    graph: Graph
    reduce: str | None  # None: the value at one point, no rows
    lr: float
    steps: int
    batch_size: int | None
    start: dict[str, Any]
    at: dict[str, Any]  # the trained parameters
    initial_loss: float  # over all rows, at the start
    loss: float  # over all rows, at the trained parameters
    gradient: dict[str, Any]  # at the trained parameters
    losses: list[float]  # per step: the loss of that step's rows before its update
    history: list[tuple[int, float, dict[str, Any]]]  # (step, loss, parameters)
    rows: int | None  # None at one point
    skipped: int  # rows dropped at reading (bad cells) plus row-steps dropped (math errors)
    warnings: list[str] = field(default_factory=list)


def load(plan: Plan) -> tuple[dict[str, np.ndarray], np.ndarray, Stream]:
    """All rows' needed columns in memory; bad cells are refused or skipped as for eval."""
    stream = Stream(plan, gradient=False)
    numbers, parts = [], []
    for chunk_rows, columns in _cells_only(stream):
        numbers.append(chunk_rows)
        parts.append(columns)
    rows = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
    data = {name: np.concatenate([p[name] for p in parts]) if parts else np.zeros(0)
            for name in plan.columns}
    if not len(rows):
        assert plan.table is not None  # the plan as made, not a Dask task's copy
        raise DataError(f"data {plan.table.label}: no rows to descend on").about("data")
    return data, rows, stream


def _cells_only(stream: Stream):
    plan = stream.plan
    assert plan.table is not None  # the plan as made, not a Dask task's copy
    with plan.table.reading(plan.columns, plan.chunk_rows) as chunks:
        for chunk in chunks:
            if chunk.problems.count and plan.on_error == "fail":
                raise chunk.problems.first[0].error()
            stream.problems.merge(chunk.problems)
            stream.rows += len(chunk.rows)
            keep = slice(None) if chunk.bad is None else ~chunk.bad
            yield chunk.rows[keep], {name: c[keep] for name, c in chunk.columns.items()}


def descend(plan: Plan, *, lr: float, steps: int, reduce: str = "mean",
            batch_size: int | None = None, seed: int = 0,
            on_step: Callable[[int, float], None] | None = None) -> Descent:
    """Run `steps` updates of the parameters in plan.wrt; the loss and gradient at the end
    (a vector or matrix parameter, trained element by element, reported as its array)."""
    if seed < 0:
        raise UsageError(f"seed {seed}: a seed is a whole number from 0 up").about("seed")
    data, rows, stream = load(plan)
    params = dict(plan.params)
    start = {name: params[name] for name in plan.wrt}
    batches = _batches(len(rows), batch_size, seed)
    losses, history, dropped = [], [], Problems()
    fast = Steps(plan.graph, data, plan.wrt) if steps >= MIN_STEPS and len(plan.graph.nodes) <= MAX_NODES \
        else None
    for step in range(steps):
        pick = next(batches)
        loss, grads = _loss(plan, data, rows, params, pick, reduce=reduce, step=step, dropped=dropped,
                            fast=fast)
        losses.append(loss)
        history.append((step, loss, {name: params[name] for name in plan.wrt}))
        for name in plan.wrt:
            params[name] -= lr * grads[name]
        _check_finite(params, step, lr)
        if on_step:
            on_step(step, loss)
    loss, grads = _loss(plan, data, rows, params, slice(None), reduce=reduce, step=steps,
                        dropped=dropped, fast=fast)
    history.append((steps, loss, {name: params[name] for name in plan.wrt}))
    initial = history[0][1] if batch_size is None and steps else \
        _loss(plan, data, rows, {**params, **start}, slice(None), reduce=reduce, step=0,
              dropped=Problems())[0]
    warnings = stream.notes()
    if dropped.count:
        warnings.append(f"skipped {dropped.count:,} row-steps with math errors (first: "
                        f"{dropped.first[0].message})")
    shaped = lambda values: folded(values, plan.shapes)  # noqa: E731
    return Descent(plan.graph, reduce, lr, steps, batch_size, shaped(start),
                   shaped({name: params[name] for name in plan.wrt}), initial, loss, shaped(grads),
                   losses, [(step, loss, shaped(values)) for step, loss, values in history],
                   len(rows), stream.problems.count + dropped.count, warnings)


def descend_at(graph: Graph, at: dict[str, Any], wrt: tuple[str, ...], m: Any, *, lr: float,
               steps: int, on_step: Callable[[int, float], None] | None = None) -> Descent:
    """Run `steps` updates of the `wrt` parameters on the graph's value at the point `at`
    (numbers of the system `m`); the other values stay as given: they are the data."""
    check_inputs(graph, at)
    check_wrt(graph, wrt)
    params = dict(at)
    start = {name: params[name] for name in wrt}
    losses, history = [], []
    for step in range(steps):
        result = _evaluated(graph, params, wrt, m, step)
        loss = float(result.value)
        losses.append(loss)
        history.append((step, loss, {name: params[name] for name in wrt}))
        gradient = result.gradient
        with np.errstate(over="ignore", invalid="ignore"):  # _check_finite names what diverged
            for name in wrt:
                params[name] = params[name] - lr * gradient[name]  # a new array: history keeps the old
        _check_finite({name: params[name] for name in wrt}, step, lr)
        if on_step:
            on_step(step, loss)
    result = _evaluated(graph, params, wrt, m, steps)
    loss = float(result.value)
    history.append((steps, loss, {name: params[name] for name in wrt}))
    return Descent(graph, None, lr, steps, None, start, {name: params[name] for name in wrt},
                   history[0][1], loss, result.gradient, losses, history, None, 0,
                   list(result.warnings))


def _evaluated(graph: Graph, at: dict[str, Any], wrt: tuple[str, ...], m: Any, step: int) -> Result:
    """Value and gradient at the step's parameters; a math error names the step."""
    try:
        return evaluate(graph, at, wrt, m=m)
    except DomainError as exc:
        raise DomainError(f"step {step}: {exc}", exc.stage) from None


def _batches(n: int, batch_size: int | None, seed: int):
    """Row positions for each step: all rows, or consecutive slices of a fresh shuffle."""
    if batch_size is None or batch_size >= n:
        while True:
            yield slice(None)
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        for lo in range(0, n - batch_size + 1, batch_size):
            yield order[lo:lo + batch_size]


def _loss(plan: Plan, data, rows, params, pick, *, reduce: str, step: int, dropped: Problems,
          fast: Steps | None = None) -> tuple[float, dict[str, float]]:
    """The step's loss and gradient: through the compiled graph when every number on the
    way is finite, else through the batch engine, which drops or refuses the bad rows."""
    if fast is not None:
        used = len(rows) if isinstance(pick, slice) else len(pick)
        sums = fast.sums(params, pick, used)
        if sums is not None:
            scale = 1.0 / used if reduce == "mean" else 1.0
            return sums[0] * scale, {name: g * scale for name, g in zip(plan.wrt, sums[1])}
    batch = run(plan.graph, {name: c[pick] for name, c in data.items()}, params, rows[pick],
                plan.wrt)
    if batch.problems.count:
        if plan.on_error == "fail":
            raise batch.problems.first[0].error(prefix=f"step {step}, ")
        dropped.merge(batch.problems)
    used = len(batch.rows)
    if used == 0:
        raise DataError(f"step {step}: every row of the step had a math error")
    scale = 1.0 / used if reduce == "mean" else 1.0
    out, over = plan.graph.output_name, f"over the {used:,} rows of step {step}"
    return (Total.of(batch.value).times(scale, f"the {reduce} of {out} {over}"),
            {name: Total.of(batch.grads[name]).times(scale, f"the {reduce} of ∂{out}/∂{name} {over}")
             for name in plan.wrt})


def _check_finite(params: dict[str, Any], step: int, lr: float) -> None:
    bad = [name for name, v in params.items()
           if not (math.isfinite(v) if isinstance(v, float) else np.isfinite(v).all())]
    if bad:
        raise DomainError(f"step {step}: {', '.join(bad)} is no longer finite; the steps "
                          f"diverge (try a smaller lr than {lr:g})").about("lr")
