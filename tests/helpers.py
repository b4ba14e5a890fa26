"""What the tests share, in one place: running the CLI in-process, the independent oracles
of the numerics tests, and the hostile inputs of the fuzz tests with the contract they check.

Oracles: the seeds' worked examples written directly as sympy expressions (never by parsing
gradcalc's text with sympy), and random expression trees built as text and sympy form side
by side. The fuzz contract, for any input whatever: exit code 0, 2 or 3; never a traceback
or an internal error; on error an empty stdout and an `error: ...` line on stderr; a
bounded time.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sympy as sp
from click.testing import CliRunner
from hypothesis import strategies as st

from gradcalc.cli import main
from gradcalc.core.ops import FUNCTIONS

# ---- the CLI, in-process ----------------------------------------------------------------

@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: str, stdin: str | None = None) -> Run:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def one_error(run, code: int = 2) -> str:
    """The one error line of a run that failed with `code`, and nothing on stdout."""
    assert run.code == code, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.stderr
    return lines[0]


# ---- oracles of the numerics tests ------------------------------------------------------

S = {name: sp.Symbol(name, real=True)
     for name in ("a", "b", "c", "x", "y", "z", "w0", "w1", "w2", "x0", "x1", "x2")}


def sigma(t):
    return 1 / (1 + sp.exp(-t))


a, b, c, x, y = (S[n] for n in "abcxy")
NEURON_AT = {"w0": "2", "w1": "-3", "w2": "-3", "x0": "-1", "x1": "-2"}
NEURON = sigma(S["w0"] * S["x0"] + S["w1"] * S["x1"] + S["w2"])
LOSS = "z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)"
LOSS_AT = {"x1": "1.5", "x2": "2.5", "w1": "-4", "w2": "3", "b": "-1", "y": "1"}
_z = S["w1"] * S["x1"] + S["w2"] * S["x2"] + b
LOSS_FORM = -y * sp.log(sigma(_z)) - (1 - y) * sp.log(1 - sigma(_z))

# The worked examples of ../shared/golden/seed-examples.json: text, point, sympy form.
WORKED = [
    ("3*(a+b*c)", {"a": "5", "b": "3", "c": "2"}, 3 * (a + b * c)),
    ("u = b*c; v = a + u; J = 3*v", {"a": "5", "b": "3", "c": "2"}, 3 * (a + b * c)),
    ("1/(1+exp(-(w0*x0+w1*x1+w2)))", NEURON_AT, NEURON),
    ("sigmoid(w0*x0+w1*x1+w2)", NEURON_AT, NEURON),
    ("(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", {"x": "3", "y": "-4"},
     (x + sigma(y)) / (sigma(x) + (x + y) ** 2)),
    (LOSS, LOSS_AT, LOSS_FORM),
    ("x**2*(3*x+1) - sin(x**2)", {"x": "1.5"}, x ** 2 * (3 * x + 1) - sp.sin(x ** 2)),
    ("(exp(x) + x)**2", {"x": "1"}, (sp.exp(x) + x) ** 2),
    ("max(x, y) * 2 + x*y", {"x": "3", "y": "-4"}, sp.Max(x, y) * 2 + x * y),
]


def staged(text: str, at: dict):
    """The graph of `text` and the point `at`, read as the command line reads `--at`."""
    from gradcalc.cli.options import parse_at
    from gradcalc.core.graph import lower
    from gradcalc.core.values import Point

    point = Point(parse_at([at_option(at)]))
    return lower(text, given=point.names), point


def at_option(at: dict) -> str:
    return ",".join(f"{name}={value}" for name, value in at.items())


def exact_point(at: dict) -> dict:
    return {S[name]: sp.Rational(value) for name, value in at.items()}


# Random trees: each builder writes text and sympy form side by side, in safe domains.
NAMES = ("x", "y", "z")
RATIONAL = {
    "add": (lambda p, q: f"({p} + {q})", lambda p, q: p + q),
    "sub": (lambda p, q: f"({p} - {q})", lambda p, q: p - q),
    "mul": (lambda p, q: f"({p}*{q})", lambda p, q: p * q),
    "div": (lambda p, q: f"({p}/(2 + ({q})^2))", lambda p, q: p / (2 + q ** 2)),
}
SMOOTH = {
    "exp": (lambda p: f"exp(tanh({p}))", lambda p: sp.exp(sp.tanh(p))),
    "log": (lambda p: f"log(1 + ({p})**2)", lambda p: sp.log(1 + p ** 2)),
    "sqrt": (lambda p: f"sqrt(3 + sin({p}))", lambda p: sp.sqrt(3 + sp.sin(p))),
    "sigmoid": (lambda p: f"sigmoid({p})", sigma),
    "softplus": (lambda p: f"softplus({p})", lambda p: sp.log(1 + sp.exp(p))),
    "cos": (lambda p: f"cos({p})", sp.cos),
    "atan": (lambda p: f"atan({p})", sp.atan),
    "neg": (lambda p: f"(-{p})", lambda p: -p),
    "cube": (lambda p: f"({p})^3", lambda p: p ** 3),
}


@st.composite
def expressions(draw, unary=SMOOTH, size=8, binary=None):
    """A random tree whose nodes may reuse earlier subtrees, so subexpressions are shared;
    `binary` defaults to the rational operations (RATIONAL)."""
    binary = RATIONAL if binary is None else binary
    pool = [(name, S[name]) for name in NAMES] + [("1.5", sp.Rational(3, 2))]
    for _ in range(draw(st.integers(1, size))):
        if unary and draw(st.booleans()):
            text, form = unary[draw(st.sampled_from(sorted(unary)))]
            p = draw(st.sampled_from(pool))
            pool.append((text(p[0]), form(p[1])))
        else:
            text, form = binary[draw(st.sampled_from(sorted(binary)))]
            p, q = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            pool.append((text(p[0], q[0]), form(p[1], q[1])))
    return pool[-1]


rational_expressions = expressions(unary={k: SMOOTH[k] for k in ("neg", "cube")})

# Points as decimal texts, so exact and many-digit modes read them exactly.
points = st.fixed_dictionaries({name: st.integers(-200, 200).map(lambda k: str(k / 100))
                                for name in NAMES})


# Each op's own oracle: its forward function written independently as a sympy form.

# op → (independent sympy form, points to check at)
ORACLE = {
    "copy": (x, [(1.3,)]),
    "add": (x + y, [(1.5, -2.0)]),
    "sub": (x - y, [(1.5, -2.0)]),
    "mul": (x * y, [(1.5, -2.0)]),
    "div": (x / y, [(1.5, -2.0)]),
    "pow": (x ** y, [(1.5, 2.5), (2.0, -1.5)]),
    "neg": (-x, [(0.7,)]),
    "exp": (sp.exp(x), [(0.3,), (-2.0,)]),
    "log": (sp.log(x), [(0.3,), (5.0,)]),
    "logb": (sp.log(x) / sp.log(y), [(8.0, 2.0), (0.5, 10.0)]),
    "sqrt": (sp.sqrt(x), [(2.0,)]),
    "abs": (sp.Abs(x), [(-1.5,), (2.0,)]),
    "sin": (sp.sin(x), [(0.4,)]),
    "cos": (sp.cos(x), [(0.4,)]),
    "tan": (sp.tan(x), [(0.4,)]),
    "asin": (sp.asin(x), [(0.4,)]),
    "acos": (sp.acos(x), [(-0.4,)]),
    "atan": (sp.atan(x), [(2.4,)]),
    "sinh": (sp.sinh(x), [(0.9,)]),
    "cosh": (sp.cosh(x), [(-0.9,)]),
    "tanh": (sp.tanh(x), [(0.9,)]),
    "sigmoid": (1 / (1 + sp.exp(-x)), [(1.0,), (-3.0,), (30.0,)]),
    "softplus": (sp.log(1 + sp.exp(x)), [(1.0,), (-3.0,)]),
    "log_sigmoid": (sp.log(1 / (1 + sp.exp(-x))), [(1.0,), (-3.0,)]),
    "logloss": (-x * sp.log(1 / (1 + sp.exp(-y))) - (1 - x) * sp.log(1 - 1 / (1 + sp.exp(-y))),
                [(1.0, 0.7), (0.0, -2.0), (0.3, 1.5)]),
    "relu": (sp.Max(x, 0), [(1.0,), (-3.0,)]),
    "max": (sp.Max(x, y), [(1.0, 2.0), (3.0, -1.0)]),
    "min": (sp.Min(x, y), [(1.0, 2.0), (3.0, -1.0)]),
}


# ---- hostile inputs and the fuzz contract -------------------------------------------------

# The grammar's alphabet, the characters it refuses, and look-alikes from outside ASCII.
GRAMMAR_CHARS = "0123456789.eE+-*/^(),;=\n\t abcxyz_"
REFUSED_CHARS = "#%!@'\"[]{}:<>&|~`\\$?"
STRANGE_CHARS = "ｘа٣１\x00\x1b\x7f\u200b\ufeff\u2212é\udcff𝑥"

NUMBERS = ["0", "1", "2", "0.5", ".5", "5.", "1e3", "1e-3", "1e400", "1e-400", "1e308",
           "9" * 30, "1e100000000", "0x10", "1_000", "2e", "00"]
TOKEN_NAMES = ["x", "y", "a", "b", "bc", "E", "I", "N", "S", "pi", "e", "lambda", "beta", "gamma",
         "_x", "__import__", "__class__", "if", "for", "not", "eval", "open", "input", "os"]
OPERATORS = ["+", "-", "*", "/", "^", "**", "(", ")", ",", ";", "=", "\n", "==", "//", "%",
             "!", "@", ".", "[", "]", "'", ":", " "]
TOKENS = NUMBERS + TOKEN_NAMES + OPERATORS + [f"{name}(" for name in FUNCTIONS]

# Values for the names the generated inputs use most; odd ones leave no name without a value.
AT = "x=0.5,y=-2,a=3,b=0,c=1e-3,z=7,bc=2,E=1,I=2,N=3,S=4,beta=1,gamma=2,_x=1"

characters = st.text(st.sampled_from(GRAMMAR_CHARS + REFUSED_CHARS + STRANGE_CHARS), max_size=40)
garbage = st.one_of(characters, st.text(max_size=30))  # the second: any Unicode at all
token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
spaced_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
hostile_texts = st.one_of(garbage, token_soup, spaced_soup)
at_values = st.one_of(
    st.just(AT),
    st.builds(lambda name, value: f"{AT},{name}={value}", st.sampled_from(["w", "x", "q"]),
              st.one_of(token_soup, characters)),
    token_soup,
)
commands = st.sampled_from(["eval", "trace"])
formats = st.sampled_from(["json", "table", "csv"])
nonfinite = st.sampled_from(["strict", "ieee"])

TIME_BOUND = 2.0  # seconds for one small input, in-process
# Symbolic work has no size that predicts its time, only a clock (README, the limits table):
# the fuzzer holds each input to clocks that fit inside its bound, so that a slow `--simplify`
# or `--exact` tests the clock and its message rather than the defaults' patience.
CLOCKS_WITHIN_BOUND = {"GRADCALC_SYMBOLIC_SECONDS": "1", "GRADCALC_SIMPLIFY_SECONDS": "1"}


def timed(run_cli, *args: str, **options) -> tuple:
    """The run and the CPU seconds it took; a slow run is timed again, and the faster counts.

    CPU time, because wall time counts other processes' load; twice, because a one-off pause
    (the cycle collector sweeping the fuzzer's own memory) is not the input's fault.
    """
    times = []
    with clocks_within_bound():
        while len(times) < 2 and min(times, default=TIME_BOUND) >= TIME_BOUND:
            start = time.process_time()
            run = run_cli(*args, **options)
            times.append(time.process_time() - start)
    return run, min(times)


@contextmanager
def clocks_within_bound() -> Iterator[None]:
    """The symbolic clocks set to CLOCKS_WITHIN_BOUND while inside, restored after."""
    saved = {name: os.environ.get(name) for name in CLOCKS_WITHIN_BOUND}
    os.environ.update(CLOCKS_WITHIN_BOUND)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_contract(run, elapsed: float, fmt: str = "table", mode: str = "strict") -> None:
    """Assert what every input must get: a result or one clean error, quickly."""
    assert run.code in CODES, (run.code, run.stderr)
    for text in (run.stdout, run.stderr):
        # the messages themselves, not words of the help (`--debug`: the traceback of internal errors)
        assert "Traceback (most recent call last)" not in text and "error: internal error" not in text, \
            run.stderr
    if run.code:
        assert run.stdout == "", run.stdout
        lines = run.stderr.splitlines()
        assert lines and lines[-1].startswith("error: "), run.stderr
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), run.stderr
    else:
        assert run.stdout.strip() or fmt == "jsonl"
        if fmt == "json" and mode == "strict" and not run.stdout.startswith("Usage:"):  # `-h`
            assert_all_finite(json.loads(run.stdout))
    assert elapsed < TIME_BOUND, elapsed


def assert_all_finite(document: dict) -> None:
    """Strict mode prints no inf or nan (JSON would spell them as strings)."""
    numbers = [document["value"], *document["at"].values(), *document["gradient"].values()]
    for node in document.get("nodes", ()):
        numbers += [node["value"], node["grad"], *(p for p in node["local"] if p is not None)]
    assert all(isinstance(x, float) and math.isfinite(x) for x in numbers), numbers


# ---- hostile data files -------------------------------------------------------------------

HOSTILE_CSV = {  # name → the file's bytes; every reader and both engines must treat each alike
    "good": b"x,y\n1,2\n3,4\n",
    "ragged_long": b"x,y\n1,2\n3,4,5\n6,7\n",
    "ragged_short": b"x,y\n1,2\n3\n",
    "empty_cell": b"x,y\n1,\n2,3\n",
    "not_a_number": b"x,y\nabc,1\n",
    "underscore": b"x,y\n1_000,2\n",
    "arabic_digits": "x,y\n١٢,2\n".encode(),
    "fullwidth_digit": "x,y\n１,2\n".encode(),
    "nbsp": "x,y\n\u00a01,2\n".encode(),
    "nan": b"x,y\nnan,1\n2,3\n",
    "inf_word": b"x,y\n-Infinity,1\n",
    "overflowing": b"x,y\n1e400,1\n",
    "spaces_and_tabs": b"x , y\n 1\t, 2 \n",
    "hex": b"x,y\n0x10,1\n",
    "trailing_header_comma": b"x,y,\n1,2,\n",
    "duplicate_names": b"x,x ,y\n1,2,3\n",
    "missing_column": b"x,z\n1,2\n",
    "empty_file": b"",
    "header_only": b"x,y\n",
    "blank_lines": b"\nx,y\n\n1,2\n\n3,4\n",
    "bom_crlf": b"\xef\xbb\xbfx,y\r\n1,2\r\n",
    "quoted": b'"x","y"\n"1","2"\n',
    "not_utf8": b"x,y\n\xff,2\n",
    "huge_rows": b"x,y\n" + b"1e308,1e308\n" * 3,
}


def write_hostile_files(folder) -> dict[str, str]:
    """Hostile data files of every kind in `folder`: the CSV cases above, and .npy, .npz and
    Parquet files with wrong dtypes, lying shape headers, nested types and duplicate names.
    Returns name → path."""
    import numpy as np

    paths = {}
    for name, data in HOSTILE_CSV.items():
        path = folder / f"{name}.csv"
        path.write_bytes(data)
        paths[name] = str(path)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])

    def npz(name, **arrays):
        np.savez(folder / f"{name}.npz", **arrays)
        paths[name] = str(folder / f"{name}.npz")

    def npy(name, array):
        np.save(folder / f"{name}.npy", array)
        paths[name] = str(folder / f"{name}.npy")

    npz("npz_good", x=x, y=y)
    npz("npz_complex", x=x + 1j, y=y)
    npz("npz_datetime", x=np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"), y=y)
    npz("npz_timedelta", x=np.array([1, 2], dtype="timedelta64[s]"), y=y)
    npz("npz_strings", x=np.array(["1", "2"]), y=y)
    npz("npz_nan", x=np.array([np.nan, 1.0]), y=y)
    npz("npz_2d", x=np.ones((2, 2)), y=y)
    npz("npz_lengths", x=np.ones(3), y=y)
    np.savez(folder / "npz_object.npz", x=np.array([1, "a"], dtype=object), y=y, allow_pickle=True)
    paths["npz_object"] = str(folder / "npz_object.npz")
    _lying_npz(folder / "npz_huge_shape.npz", np)
    paths["npz_huge_shape"] = str(folder / "npz_huge_shape.npz")
    (folder / "npz_not_zip.npz").write_bytes(b"x,y\n1,2\n")
    paths["npz_not_zip"] = str(folder / "npz_not_zip.npz")
    table = np.zeros(2, dtype=[("x", "f8"), ("y", "f8")])
    npy("npy_good", table)
    npy("npy_complex", np.zeros(2, dtype=[("x", "c16"), ("y", "f8")]))
    npy("npy_datetime", np.zeros(2, dtype=[("x", "M8[s]"), ("y", "f8")]))
    npy("npy_plain", x)
    (folder / "npy_not_numpy.npy").write_bytes(b"hello, world\n")
    paths["npy_not_numpy"] = str(folder / "npy_not_numpy.npy")
    _lying_npy(folder / "npy_huge_shape.npy", table)
    paths["npy_huge_shape"] = str(folder / "npy_huge_shape.npy")
    _hostile_parquet(folder, paths)
    return paths


def _declaring(shape: tuple, array) -> bytes:
    """`array`'s data behind an .npy header that declares `shape`."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
              "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + array.tobytes()


def _lying_npy(path, array) -> None:
    """An .npy file whose header declares 10¹⁵ rows and holds two."""
    path.write_bytes(_declaring((10 ** 15,), array))


def _lying_npz(path, np) -> None:
    """An .npz member whose header declares 10¹² rows: a decompression bomb's header."""
    import zipfile

    member = _declaring((10 ** 12,), np.zeros(4))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", member)
        archive.writestr("y.npy", member)


def _hostile_parquet(folder, paths: dict) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    y = pa.array([3.0, 4.0])
    cases = {
        "pq_good": pa.table({"x": [1.0, 2.0], "y": y}),
        "pq_list": pa.table({"x": [[1.0], [2.0]], "y": y}),
        "pq_struct": pa.table({"x": [{"a": 1}, {"a": 2}], "y": y}),
        "pq_map": pa.table({"x": pa.array([[("k", 1.0)], [("k", 2.0)]],
                                          type=pa.map_(pa.string(), pa.float64())), "y": y}),
        "pq_binary": pa.table({"x": pa.array([b"1", b"2"]), "y": y}),
        "pq_timestamp": pa.table({"x": pa.array([1, 2], type=pa.timestamp("s")), "y": y}),
        "pq_text": pa.table({"x": ["1", "1_000"], "y": y}),
        "pq_nan": pa.table({"x": [float("nan"), 1.0], "y": y}),
        "pq_null": pa.table({"x": pa.array([None, 1.0]), "y": y}),
        "pq_duplicate": pa.Table.from_arrays([pa.array([1.0, 2.0]), pa.array([1.0, 2.0]), y],
                                             names=["x", "x", "y"]),
    }
    for name, table in cases.items():
        pq.write_table(table, folder / f"{name}.parquet")
        paths[name] = str(folder / f"{name}.parquet")


# ---- every command, every format, hostile data files, real processes ---------------------

def command_formats() -> dict[str, list[str]]:
    """Each command's formats, from the renderers' own table."""
    from gradcalc.render import formats as known

    return {command: known(command) for command in
            ("eval", "trace", "graph", "paths", "check", "grad", "descend")}


# Values without x and y, which the data files' columns give, and a parameter w.
AT_DATA = ",".join(item for item in AT.split(",") if item.split("=")[0] not in ("x", "y")) + ",w=0.5"

# Expressions that parse, with kinks, shared stages, wide arguments and steep functions.
VALID = ["w*x - y", "(w*x - y)**2", "log(x)*w", "sigmoid(w*x) + y", "x/y*w", "relu(x - w)*y",
         "max(x, y, w)", "abs(b)*x", "sqrt(b) + x", "log(c)*x", "sin(2000*x)", "sin(1/x)",
         "u = x*y; v = u*u + u; f = v*v + v", "x^y", "exp(z*z)*x", "tanh(x)*softplus(y)",
         "min(x, x)", "x - x", "1/(x - 0.5)", "atan(y/x)", "log(x, 2) + asin(x)"]
sensible_texts = st.one_of(st.sampled_from(VALID), expressions().map(lambda tree: tree[0]),
                           hostile_texts)

HEADERS = ["x", "y", " x", "y ", "", "x", "z", "é", "1x", "a b", '"x"', "x\x00", "w"]
CELLS = ["1", "-2.5", "0", "1e308", "-1e308", "1e-320", "1e400", "nan", "inf", "-inf", "",
         " 3 ", "1_000", "٣", "１", "0x10", "1,5", "+4", ".5", "5.", "e3", '"7"', "\x00",
         "9" * 400, "\ufeff1", "true"]


@st.composite
def csv_files(draw, damaged: bool = True) -> bytes:
    """A CSV file of odd headers, cells, row lengths and line ends."""
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=4))
    if draw(st.booleans()):
        header = ["x", "y"] + header[:1]
    width = len(header)
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=max(0, width - 1),
                                  max_size=width + 1), max_size=6))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(",".join(cells) for cells in [header, *rows])
    text += draw(st.sampled_from(["", end, end * 3, ","]))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if damaged and draw(st.integers(0, 9)) == 0:
        data = data[:draw(st.integers(0, len(data)))] + draw(st.binary(max_size=4))
    return data


DTYPES = ["<f8", "<f4", "<i8", "|u1", "|b1", "<c16", "<M8[s]", "|S3", "<U3", ">f8", "<f2"]


@st.composite
def npy_files(draw, damaged: bool = True) -> bytes:
    """A .npy file: a structured array of odd field types and names, a plain array, or a cut one."""
    import io

    import numpy as np

    rows = draw(st.integers(0, 4))
    kind = draw(st.sampled_from(["structured", "plain", "scalar"]))
    if kind == "structured":
        names = draw(st.lists(st.sampled_from(["x", "y", "z", " x", "é"]), min_size=1, max_size=3,
                              unique=True))
        dtype = np.dtype([(name, draw(st.sampled_from(DTYPES))) for name in names])
        array = np.zeros(rows, dtype=dtype)
        for name in names:
            if dtype[name].kind in "fc":
                with np.errstate(over="ignore"):  # 1e308 is inf in float16 and float32
                    array[name] = draw(st.sampled_from([0.5, -2.0, np.inf, np.nan, 1e308]))
    elif kind == "plain":
        array = np.full((rows, draw(st.integers(1, 3))), 1.5, dtype=draw(st.sampled_from(DTYPES[:4])))
    else:
        array = np.array(2.0)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    if damaged and draw(st.integers(0, 5)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return data


@st.composite
def npz_files(draw, damaged: bool = True) -> bytes:
    """A .npz file: members of odd types, lengths and shapes; `damaged`: also an object member
    (pickled) or an archive cut short."""
    import io

    import numpy as np

    members = {}
    for name in draw(st.lists(st.sampled_from(["x", "y", "z", "x ", "w"]), min_size=0, max_size=3,
                              unique=True)):
        shape = draw(st.sampled_from([(3,), (2,), (3, 2), (), (0,)]))
        kind = draw(st.sampled_from(DTYPES[:8] + (["object"] if damaged else [])))
        members[name] = (np.array([1, "a"], dtype=object) if kind == "object"
                         else np.ones(shape, dtype=kind))
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    data = buffer.getvalue()
    if damaged and draw(st.integers(0, 5)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return data


@st.composite
def parquet_files(draw, damaged: bool = True) -> bytes:
    """A Parquet file: numeric, null, list, struct, map, string, binary and twice-named columns."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "float": pa.array([1.5, -2.0, None]), "int": pa.array([1, 2, 3]),
        "nan": pa.array([float("nan"), 1.0, float("inf")]), "string": pa.array(["1", "b", "c"]),
        "binary": pa.array([b"1", b"2", b"3"]), "list": pa.array([[1.0], [], None]),
        "struct": pa.array([{"a": 1.0}, {"a": 2.0}, None]), "bool": pa.array([True, False, None]),
        "map": pa.array([[("k", 1.0)], [], None], type=pa.map_(pa.string(), pa.float64())),
    }
    chosen = draw(st.lists(st.tuples(st.sampled_from(["x", "y", "z", "x"]), st.sampled_from(sorted(columns))),
                           min_size=1, max_size=3))
    rows = draw(st.integers(0, 3))
    table = pa.Table.from_arrays([columns[kind].slice(0, rows) for _, kind in chosen],
                                 names=[name for name, _ in chosen])
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    if damaged and draw(st.integers(0, 5)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return data


def data_files(damaged: bool = True):
    """(suffix, contents) of a hostile data file of every kind the readers take; `damaged`
    adds files cut short and random bytes under every suffix."""
    kinds = [st.tuples(st.just(".csv"), csv_files(damaged)), st.tuples(st.just(".npy"), npy_files(damaged)),
             st.tuples(st.just(".npz"), npz_files(damaged)),
             st.tuples(st.just(".parquet"), parquet_files(damaged))]
    if damaged:
        kinds.append(st.tuples(st.sampled_from([".csv", ".npy", ".npz", ".parquet", ".txt", ""]),
                               st.binary(max_size=64)))
    return st.one_of(*kinds)

# Codes each command may end with on any input: check's 4 says a correct rule is wrong.
CODES = (0, 2, 3)


@st.composite
def command_lines(draw, data_dir=None, damaged: bool = True) -> tuple[list[str], str, str]:
    """A command line of any command with any of its formats, the format and --nonfinite mode
    chosen; with `data_dir`, eval --data and descend read a hostile file written there
    (`damaged`: data_files)."""
    known = command_formats()
    choices = ["eval", "trace", "graph", "paths", "check", "grad"] + (["data", "descend"] if data_dir else [])
    command = draw(st.sampled_from(choices))
    expression = draw(sensible_texts)
    mode = "strict"
    if command in ("data", "descend"):
        suffix, contents = draw(data_files(damaged))
        path = f"{data_dir}/rows{draw(st.integers(0, 10**6))}{suffix}"
        with open(path, "wb") as handle:
            handle.write(contents)
        fmt = draw(st.sampled_from(known["eval" if command == "data" else "descend"]))
        name = "eval" if command == "data" else "descend"
        args = [name, expression, "--data", path, "--at", AT_DATA, "--format", fmt]
        if command == "data":
            args += draw(st.sampled_from([[], ["--reduce", "sum"], ["--reduce", "none"],
                                          ["--on-error", "skip"], ["--chunk-size", "2"]]))
            if "none" in args and fmt not in ("csv", "json"):
                args[args.index("--format") + 1] = fmt = "csv"
        else:
            args += ["--steps", str(draw(st.integers(0, 5))), "--lr", draw(st.sampled_from(["0.1", "1e300", "1e-300"]))]
            args += draw(st.sampled_from([[], ["--batch-size", "2", "--seed", "3"], ["--history", "-"]]))
        if "none" in args and fmt == "json":
            return args, "jsonl", mode  # JSON Lines: a file of no rows is no line at all
        return args, "table", mode  # (the JSON contract's keys are eval's and trace's)
    fmt = draw(st.sampled_from(known[command]))
    args = [command, expression, "--at", draw(at_values), "--format", fmt]
    args += ["--gates", draw(st.sampled_from(["written", "fused", "primitive"]))] if command != "grad" else []
    if command in ("eval", "trace"):
        mode = draw(nonfinite) if fmt in ("table", "json", "csv") else "strict"
        args += ["--nonfinite", mode]
        if mode == "strict" and fmt in ("table", "json", "csv"):
            args += draw(st.sampled_from([[], [], ["--exact"], ["--digits", "20"]]
                                         + ([["--hessian"]] if command == "eval" else [])))
    elif command == "paths":
        args += ["--wrt", "x", "--top", draw(st.sampled_from(["1", "3", "10"]))]
    elif command == "check":
        args += draw(st.sampled_from([[], ["--nodes"], ["--rtol", "1e-9"]]))
    elif command == "grad":
        args += draw(st.sampled_from([[], ["--stages"], ["--simplify"]]))
    return args, fmt if command in ("eval", "trace") else "table", mode


STREAMS = ["normal", "closed stdin", "closed stdout", "closed stderr", "full stdout", "full stderr"]


def run_process(args: list[str], streams: str = "normal", cwd: str | None = None) -> Run:
    """gradcalc as a process of its own, its standard streams as `streams` says (STREAMS)."""
    import subprocess
    import sys

    closed = {"closed stdin": 0, "closed stdout": 1, "closed stderr": 2}.get(streams)
    full = open("/dev/full", "w") if streams.startswith("full") else None
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gradcalc", *args], capture_output=False, cwd=cwd,
            env={**os.environ, **CLOCKS_WITHIN_BOUND},
            encoding="utf-8", errors="replace",  # png and pdf write bytes
            stdin=None if closed == 0 else subprocess.DEVNULL,
            stdout=full if streams == "full stdout" else None if closed == 1 else subprocess.PIPE,
            stderr=full if streams == "full stderr" else None if closed == 2 else subprocess.PIPE,
            timeout=60,
            preexec_fn=(lambda: os.close(closed)) if closed is not None else None)
    finally:
        if full:
            full.close()
    return Run(done.returncode, done.stdout or "", done.stderr or "")


def check_process_contract(run: Run, streams: str, elapsed: float) -> None:
    """What a process owes its caller whatever its streams: a documented exit code, at most
    one error line and never a traceback; a full standard output is exit 2 when anything was
    to be written, and a closed one an ordinary end."""
    assert run.code in (*CODES, 130), (run.code, run.stderr)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert sum(line.startswith("error: ") for line in lines) <= 1, run.stderr
    assert all(line.startswith(("error: ", "warning: ", "note: ")) for line in lines), run.stderr
    if run.code and streams in ("normal", "closed stdout", "full stdout"):
        assert lines and lines[-1].startswith("error: "), run.stderr
    if streams == "full stdout" and run.code == 0:
        raise AssertionError(f"exit 0 although standard output was full: {run.stderr}")
    assert elapsed < 3 * TIME_BOUND + 5, elapsed  # interpreter start-up included
