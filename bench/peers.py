"""Peer autodiff tools computing the same value and gradients from a pre-parsed op list.

Each ``<peer>_value_and_grad(program)`` takes a ``bench.gen.Program`` and
returns ``(value, [d value / d x_i for the ten inputs])``, so every peer can be
cross-checked against the interpreter floor (``bench.tape``) before its time
is quoted.  Peers are optional: each one imports its library inside its own
function and raises ``PeerUnavailable`` when the library is missing.

sympy can take unbounded time on large programs, so ``run_in_subprocess``
runs any peer in a child process under a timeout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen  # noqa: E402
from bench.measure import Timing, time_samples  # noqa: E402

RELATIVE_TOLERANCE = 1e-9


class PeerUnavailable(RuntimeError):
    """The peer's library is not installed; the suite skips it with this note."""


def _require(module: str, pip_hint: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PeerUnavailable(f"{module} not installed ({pip_hint})")


def _leaf_values(program: gen.Program) -> list[float]:
    return list(program.inputs) + list(program.constants)


# --- micrograd -------------------------------------------------------------


def _micrograd_unary(value, y: float, dy_dx: float, name: str):
    """A micrograd node for an op it lacks, built exactly like its own ops."""
    from micrograd.engine import Value

    out = Value(y, (value,), name)

    def _backward():
        value.grad += dy_dx * out.grad

    out._backward = _backward
    return out


def _micrograd_op(name: str, a, b):
    if name == "add":
        return a + b
    if name == "sub":
        return a - b
    if name == "mul":
        return a * b
    if name == "div":
        return a / b
    x = a.data
    if name == "exp":
        y = math.exp(x)
        return _micrograd_unary(a, y, y, name)
    if name == "log":
        return _micrograd_unary(a, math.log(x), 1.0 / x, name)
    if name == "sin":
        return _micrograd_unary(a, math.sin(x), math.cos(x), name)
    if name == "tanh":
        y = math.tanh(x)
        return _micrograd_unary(a, y, 1.0 - y * y, name)
    if name == "sigmoid":
        y = 0.5 * (1.0 + math.tanh(0.5 * x))
        return _micrograd_unary(a, y, y * (1.0 - y), name)
    raise ValueError(f"unknown op {name}")


def micrograd_value_and_grad(program: gen.Program) -> tuple[float, list[float]]:
    """micrograd's ``Value``; exp/log/sin/tanh/sigmoid added as nodes of the same kind.

    micrograd builds its topological order recursively, so the recursion limit
    is raised to the graph's size for the duration of ``backward``.
    """
    _require("micrograd", "pip install micrograd")
    from micrograd.engine import Value

    val = [Value(v) for v in _leaf_values(program)]
    for _, name, ins in program.ops:
        val.append(_micrograd_op(name, val[ins[0]], val[ins[-1]]))
    out = val[program.output]
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 4 * len(val) + 1000))
    try:
        out.backward()
    finally:
        sys.setrecursionlimit(old_limit)
    return out.data, [float(v.grad) for v in val[: len(program.inputs)]]


# --- torch -----------------------------------------------------------------


def torch_value_and_grad(program: gen.Program) -> tuple[float, list[float]]:
    """torch eager autograd on 0-dim float64 tensors, one tensor per op."""
    _require("torch", "pip install the CPU wheel, not the CUDA build")
    import torch

    funcs = {
        "add": torch.add,
        "sub": torch.sub,
        "mul": torch.mul,
        "div": torch.div,
        "exp": torch.exp,
        "log": torch.log,
        "sin": torch.sin,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
    }
    inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in program.inputs]
    val = inputs + [torch.tensor(c, dtype=torch.float64) for c in program.constants]
    for _, name, ins in program.ops:
        f = funcs[name]
        val.append(f(val[ins[0]]) if len(ins) == 1 else f(val[ins[0]], val[ins[1]]))
    out = val[program.output]
    grads = torch.autograd.grad(out, inputs)
    return out.item(), [g.item() for g in grads]


# --- jax -------------------------------------------------------------------


def _jax_program_function(program: gen.Program):
    """A Python function of the ten inputs that replays the op list with jax.numpy."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    funcs = {
        "add": jnp.add,
        "sub": jnp.subtract,
        "mul": jnp.multiply,
        "div": jnp.divide,
        "exp": jnp.exp,
        "log": jnp.log,
        "sin": jnp.sin,
        "tanh": jnp.tanh,
        "sigmoid": jax.nn.sigmoid,
    }
    constants = [jnp.float64(c) for c in program.constants]
    ops = [(funcs[name], ins) for _, name, ins in program.ops]

    def replay(*xs):
        val = list(xs) + constants
        for f, ins in ops:
            val.append(f(val[ins[0]]) if len(ins) == 1 else f(val[ins[0]], val[ins[1]]))
        return val[program.output]

    return replay


def _jax_run(program: gen.Program, jit: bool) -> tuple[float, list[float]]:
    _require("jax", "pip install jax jaxlib")
    import jax
    import jax.numpy as jnp

    n = len(program.inputs)
    f = jax.value_and_grad(_jax_program_function(program), argnums=tuple(range(n)))
    if jit:
        f = jax.jit(f)
    value, grads = f(*(jnp.float64(v) for v in program.inputs))
    return float(value), [float(g) for g in grads]


def jax_eager_value_and_grad(program: gen.Program) -> tuple[float, list[float]]:
    """``jax.value_and_grad`` of a Python loop over ops, not jitted: one dispatch per op."""
    return _jax_run(program, jit=False)


def jax_jit_value_and_grad(program: gen.Program) -> tuple[float, list[float]]:
    """The same under ``jax.jit``; each call traces and compiles anew, as a one-shot run would."""
    return _jax_run(program, jit=True)


# --- sympy -----------------------------------------------------------------


def _sympy_expression(program: gen.Program, symbols):
    import sympy

    funcs: dict[str, Callable] = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "exp": sympy.exp,
        "log": sympy.log,
        "sin": sympy.sin,
        "tanh": sympy.tanh,
        "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)),
    }
    val = list(symbols) + [sympy.nsimplify(c) for c in program.constants]
    for _, name, ins in program.ops:
        val.append(funcs[name](*(val[i] for i in ins)))
    return val[program.output]


def sympy_value_and_grad(program: gen.Program) -> tuple[float, list[float]]:
    """Symbolic: build the expression, ``diff`` it per input, evaluate via ``lambdify(cse=True)``.

    Expected to be very slow on large programs; run it with ``run_in_subprocess``.
    sympy's global cache is cleared first, so repeated calls cost what a fresh one does.
    """
    _require("sympy", "pip install sympy")
    import sympy

    sympy.core.cache.clear_cache()  # a warm cache would replay earlier calls' work
    symbols = sympy.symbols(f"x0:{len(program.inputs)}")
    expr = _sympy_expression(program, symbols)
    grads = [sympy.diff(expr, s) for s in symbols]
    evaluate = sympy.lambdify(symbols, [expr, *grads], modules="math", cse=True)
    value, *grad_values = evaluate(*program.inputs)
    return float(value), [float(g) for g in grad_values]


# --- registry, agreement, subprocess runner --------------------------------

PEERS: dict[str, Callable[[gen.Program], tuple[float, list[float]]]] = {
    "micrograd": micrograd_value_and_grad,
    "torch": torch_value_and_grad,
    "jax_eager": jax_eager_value_and_grad,
    "jax_jit": jax_jit_value_and_grad,
    "sympy": sympy_value_and_grad,
}

_PEER_MODULES = {
    "micrograd": "micrograd",
    "torch": "torch",
    "jax_eager": "jax",
    "jax_jit": "jax",
    "sympy": "sympy",
}


def unavailable_reason(peer: str) -> str | None:
    """Why ``peer`` cannot run here, or None if its library is importable."""
    module = _PEER_MODULES[peer]
    return None if importlib.util.find_spec(module) else f"{module} not installed"


Result = tuple[float, Sequence[float]]


def max_relative_error(reference: Result, other: Result) -> float:
    """Largest relative difference over the value and all gradients.

    Each gradient is measured against the largest reference magnitude, so a
    gradient that is tiny through cancellation is not held to 1e-9 of itself.
    """
    ref = [reference[0], *reference[1]]
    got = [other[0], *other[1]]
    if len(ref) != len(got):
        return math.inf
    value_scale = abs(ref[0]) or 1.0
    grad_scale = max((abs(g) for g in ref[1:]), default=0.0) or 1.0
    errors = [abs(got[0] - ref[0]) / value_scale]
    errors += [abs(g - r) / max(abs(r), grad_scale) for r, g in zip(ref[1:], got[1:])]
    return max(errors) if all(map(math.isfinite, got)) else math.inf


def agrees(reference: Result, other: Result, rel_tol: float = RELATIVE_TOLERANCE) -> bool:
    """True if ``other`` matches ``reference`` (value and gradients) within ``rel_tol``."""
    return max_relative_error(reference, other) <= rel_tol


class PeerRun(NamedTuple):
    """A peer's result from a child process, with its timings in seconds.

    ``import_seconds`` is the library's import; ``first_call`` is the cold
    first call after it, with the library's lazy set-up; ``warm`` times the
    calls after that (as many as fit the time budget), or is None if none ran.
    """

    value: float
    grads: list[float]
    import_seconds: float
    first_call: float
    warm: Timing | None
    peak_rss: int = 0  # bytes, of the whole child (library, graph and all)


def run_in_subprocess(
    peer: str, n_ops: int, seed: int = 0, timeout: float = 60.0, repeats: int = 0
) -> PeerRun | None:
    """Run one peer on ``gen.generate(n_ops, seed)`` in a child; None if it timed out.

    A child per peer keeps one library's imports, threads and memory from
    skewing another's numbers, and lets a runaway peer be stopped.  Warm
    repeats stop at half the timeout, so a slow peer still reports its result.
    """
    argv = [
        sys.executable, str(Path(__file__).resolve()), "--peer", peer, "--ops", str(n_ops),
        "--seed", str(seed), "--repeats", str(repeats), "--budget", str(timeout / 2),
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"peer {peer} failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    warm = Timing(*result["warm"]) if result["warm"] else None
    return PeerRun(result["value"], result["grads"], result["import"], result["first_call"], warm,
                   result.get("peak_rss", 0))


def _warm_timing(call: Callable[[], object], repeats: int, spent: float, budget: float) -> Timing | None:
    """Up to ``repeats`` warm calls, stopping before one would push ``spent`` past ``budget``.

    The previous call's time predicts the next one's; None if not even one fits.
    """
    samples: list[float] = []
    expected = spent  # the first call is the only estimate before any warm one
    while len(samples) < repeats and spent + expected <= budget:
        expected = time_samples(call, repeats=1, warmup=0)[0]
        samples.append(expected)
        spent += expected
    return Timing(statistics.median(samples), min(samples), max(samples)) if samples else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one peer and print its result and timings as JSON.")
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=0, help="warm calls timed after the first")
    parser.add_argument("--budget", type=float, default=math.inf, help="seconds for first + warm calls")
    args = parser.parse_args(argv)
    program = gen.generate(args.ops, args.seed)
    peer = PEERS[args.peer]
    start = time.perf_counter()
    if unavailable_reason(args.peer) is None:
        importlib.import_module(_PEER_MODULES[args.peer])
    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    value, grads = peer(program)
    first_call = time.perf_counter() - start
    warm = _warm_timing(lambda: peer(program), args.repeats, first_call, args.budget)
    result = {"peer": args.peer, "value": value, "grads": grads, "import": import_seconds}
    result |= {"first_call": first_call, "warm": list(warm) if warm else None}
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
