"""Random shapes, random expressions over the vector ops, random broadcasting: gradcalc's
gradients against an independent oracle to 1e-9. The oracle is torch's autograd when torch is
installed (an optional test dependency), else the complex-step derivative of the same
function written in numpy here: f'(x) = Im f(x + ih)/h, exact to rounding for the analytic
functions used, with no cancellation to lose digits to."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcalc

try:  # the optional oracle
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

settings_vectors = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Complex:
    """The functions of the generated expressions, in numpy, on complex arrays."""

    @staticmethod
    def softmax(v):
        e = np.exp(v - np.max(v.real, axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    @staticmethod
    def logsumexp(v):
        top = np.max(v.real, axis=-1)
        return np.log(np.exp(v - top[..., None]).sum(axis=-1)) + top

    matmul, sum, mean, tanh, sin, exp = np.matmul, np.sum, np.mean, np.tanh, np.sin, np.exp
    transpose, dot = np.transpose, np.dot

    @staticmethod
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    @staticmethod
    def norm(v):
        return np.sqrt(np.sum(v * v))


class Torch:
    """The same functions in torch (float64), for its autograd."""

    if torch is not None:
        softmax = staticmethod(lambda v: torch.softmax(v, -1))
        logsumexp = staticmethod(lambda v: torch.logsumexp(v, -1))
        matmul, sum, mean, tanh, sin, exp = torch.matmul, torch.sum, torch.mean, torch.tanh, torch.sin, torch.exp
        sigmoid, norm, dot = torch.sigmoid, torch.linalg.norm, torch.dot
        transpose = staticmethod(lambda m: m.T)


UNARY = ["tanh", "sigmoid", "sin"]


@st.composite
def terms(draw, kind: str, depth: int = 0):
    """(text, function of (namespace, values)) of a term: `k` a vector of W's rows, `n` of its
    columns, `s` a scalar."""
    leaf = depth >= 3 or draw(st.booleans())
    if kind == "n":
        if leaf:
            return "x", lambda xp, v: v["x"]
        choice = draw(st.sampled_from(["act", "Wt", "sub"]))
        if choice == "act":
            name = draw(st.sampled_from(UNARY))
            text, f = draw(terms("n", depth + 1))
            return f"{name}({text})", lambda xp, v: getattr(xp, name)(f(xp, v))
        if choice == "Wt":
            text, f = draw(terms("k", depth + 1))
            return f"(transpose(W) @ ({text}))", lambda xp, v: xp.matmul(xp.transpose(v["W"]), f(xp, v))
        text, f = draw(terms("n", depth + 1))
        return f"({text} - x)", lambda xp, v: f(xp, v) - v["x"]
    if kind == "k":
        if leaf:
            return draw(st.sampled_from([("(W @ x)", lambda xp, v: xp.matmul(v["W"], v["x"])),
                                         ("(W @ x + b)", lambda xp, v: xp.matmul(v["W"], v["x"]) + v["b"])]))
        choice = draw(st.sampled_from(["act", "scale", "bias", "times", "softmax", "W@"]))
        text, f = draw(terms("k", depth + 1))
        if choice == "act":
            name = draw(st.sampled_from(UNARY))
            return f"{name}({text})", lambda xp, v: getattr(xp, name)(f(xp, v))
        if choice == "scale":
            return f"({text} * c)", lambda xp, v: f(xp, v) * v["c"]
        if choice == "bias":
            return f"({text} + b)", lambda xp, v: f(xp, v) + v["b"]
        if choice == "times":
            other, g = draw(terms("k", depth + 1))
            return f"({text} * {other})", lambda xp, v: f(xp, v) * g(xp, v)
        if choice == "softmax":
            return f"softmax({text})", lambda xp, v: xp.softmax(f(xp, v))
        inner, g = draw(terms("n", depth + 1))
        return f"(W @ ({inner}))", lambda xp, v: xp.matmul(v["W"], g(xp, v))
    choice = draw(st.sampled_from(["sum", "dot", "logsumexp", "mean", "norm", "index", "matrix"]))
    if choice == "mean":
        text, f = draw(terms("n", depth + 1))
        return f"mean({text})", lambda xp, v: xp.mean(f(xp, v))
    if choice == "matrix":
        text, f = draw(terms("n", depth + 1))
        return f"sum(W * {text} + c)", lambda xp, v: xp.sum(v["W"] * f(xp, v) + v["c"])
    text, f = draw(terms("k", depth + 1))
    if choice == "sum":
        return f"sum({text})", lambda xp, v: xp.sum(f(xp, v))
    if choice == "dot":
        return f"dot({text}, b)", lambda xp, v: xp.dot(f(xp, v), v["b"])
    if choice == "logsumexp":
        return f"logsumexp({text})", lambda xp, v: xp.logsumexp(f(xp, v))
    if choice == "norm":
        return f"norm({text} + 3)", lambda xp, v: xp.norm(f(xp, v) + 3)
    return f"{text}[0]", lambda xp, v: f(xp, v)[0]


def values(draw, k: int, n: int) -> dict:
    number = st.floats(-2, 2, allow_nan=False, allow_infinity=False).map(lambda t: round(t, 3))
    return {"W": np.array(draw(st.lists(number, min_size=k * n, max_size=k * n))).reshape(k, n),
            "x": np.array(draw(st.lists(number, min_size=n, max_size=n))),
            "b": np.array(draw(st.lists(number, min_size=k, max_size=k))),
            "c": float(draw(number))}


def oracle(f, point: dict) -> dict:
    """∂f/∂each input: torch's autograd, or the complex step in numpy."""
    if torch is not None:
        tensors = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
                   for name, value in point.items()}
        f(Torch, tensors).backward()
        return {name: t.grad.numpy() for name, t in tensors.items()}
    h = 1e-30
    gradient = {}
    for name, value in point.items():
        base = np.asarray(value, dtype=complex)
        grad = np.zeros(base.shape)
        for k in range(base.size):
            stepped = base.copy()
            stepped.flat[k] += 1j * h
            grad.flat[k] = np.imag(f(Complex, {**point, name: stepped})) / h
        gradient[name] = grad
    return gradient


@settings_vectors
@given(st.data())
def test_random_expressions_over_the_vector_ops_agree_with_the_oracle(data):
    k, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    text, f = data.draw(terms("s"))
    point = {name: value for name, value in values(data.draw, k, n).items()
             if re.search(rf"\b{name}\b", text)}  # the inputs the expression names
    result = gradcalc.evaluate(text, **point)
    assert float(result.value) == pytest.approx(float(np.real(f(Complex, point))), rel=1e-9, abs=1e-12)
    want = oracle(f, point)
    assert set(result.gradient) == set(want)
    for name, grad in result.gradient.items():
        assert np.asarray(grad) == pytest.approx(want[name], rel=1e-9, abs=1e-9), (text, name)


SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@settings_vectors
@given(SHAPES, SHAPES, st.sampled_from(["+", "-", "*", "/"]))
def test_broadcasting_follows_numpy_or_is_refused_naming_both_shapes(left, right, symbol):
    a = np.arange(1.0, 1.0 + np.prod(left)).reshape(left) if left else 1.5
    b = np.arange(2.0, 2.0 + np.prod(right)).reshape(right) if right else 2.5
    try:
        want = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[symbol](a, b)
    except ValueError:
        with pytest.raises(gradcalc.errors.UsageError) as caught:
            gradcalc.evaluate(f"sum(a {symbol} b)", a=a.tolist(), b=b.tolist())
        assert "shapes do not fit" in str(caught.value) and "they do not broadcast" in str(caught.value)
        return
    result = gradcalc.evaluate(f"sum(a {symbol} b)", a=np.asarray(a).tolist() if left else a,
                               b=np.asarray(b).tolist() if right else b)
    assert float(result.value) == pytest.approx(float(np.sum(want)), rel=1e-15)
    ones = np.ones(np.shape(want))
    local_a = {"+": ones, "-": ones, "*": b * ones, "/": ones / b}[symbol]
    local_b = {"+": ones, "-": -ones, "*": a * ones, "/": -a / (b * b) * ones}[symbol]
    summed_a = np.sum(local_a, axis=tuple(range(np.ndim(want) - len(left)))) if left else np.sum(local_a)
    summed_b = np.sum(local_b, axis=tuple(range(np.ndim(want) - len(right)))) if right else np.sum(local_b)
    summed_a = _down_to(summed_a, left)
    summed_b = _down_to(summed_b, right)
    assert np.asarray(result.gradient["a"]) == pytest.approx(summed_a, rel=1e-14)
    assert np.asarray(result.gradient["b"]) == pytest.approx(summed_b, rel=1e-14)


def _down_to(g, shape: tuple):
    """Sum the axes along which an input of `shape` was stretched from 1."""
    if not shape:
        return g
    axes = tuple(k for k, size in enumerate(shape) if size == 1 and np.shape(g)[k] != 1)
    return np.sum(g, axis=axes, keepdims=True) if axes else g
