"""The bad-input corpus: every hostile or odd input gets a result or one clean error.

Each row is an expression, its `--at` options, the exit code and a fragment that must appear
in the message (stderr) or, for a result, in the JSON (stdout). `scripts/time_corpus.py`
runs the same table as separate processes and checks each finishes within 2 s.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest


class Case(NamedTuple):
    expression: str
    at: tuple[str, ...]  # the --at options, in order
    code: int
    fragment: str


def case(expression: str, at: str | tuple[str, ...] = (), code: int = 2, fragment: str = "") -> Case:
    return Case(expression, (at,) if isinstance(at, str) else at, code, fragment)


def value_probe(value: str, fragment: str) -> Case:
    """The same hostile text given as a value: `--at x=<text>`."""
    return case("x", f"x={value}", 2, fragment)


LONG_LIST = "w=[" + ",".join(str(k % 10) for k in range(100_000)) + "]"
DIGITS_5000 = "7" * 5000

CODE_PROBES = [  # (text, fragment of the error, and of the error as a value if it differs)
    ("__import__('os').system('touch F')", "strings are not allowed"),
    ("__import__", "names starting with '__'"),
    ("().__class__.__base__.__subclasses__()", "attribute access"),
    ("[x for x in y]", "'for' is a Python keyword"),  # a vector literal, then a keyword
    ("max(x for x in y)", "'for' is a Python keyword"),
    ("{x for x in y}", "braces"),
    ("lambda: 1", "':' is not allowed"),
    ("eval(a)", "unknown function 'eval'"),
    ("exec(a)", "unknown function 'exec'"),
    ("open(a)", "unknown function 'open'"),
    ("input(a)", "unknown function 'input'"),
    ("breakpoint()", "unknown function 'breakpoint'"),
    ("globals()", "unknown function 'globals'"),
    ("a.real", "attribute access"),
    ("a[0]", "a is a scalar", "'a' is not a known constant"),  # indexing needs a vector
    ("'a'", "strings are not allowed"),
    ('"a"', "strings are not allowed"),
    ("f'{a}'", "strings are not allowed"),
    ("b'x'", "strings are not allowed"),
    ("(a := 1)", "':' is not allowed", "not an assignment"),
    ("import os", "'import' is a Python keyword"),
    ("x if x else y", "'if' is a Python keyword"),
    ("not x", "'not' is a Python keyword"),
    ("None", "'None' is a Python keyword"),
]

CORPUS: list[Case] = [
    # code and namespace probes, in the expression and as values
    *(case(text, "a=1,x=1,y=1", 2, fragments[0]) for text, *fragments in CODE_PROBES),
    *(value_probe(text, fragments[-1]) for text, *fragments in CODE_PROBES),
    # explosive arithmetic: float64 answers or refuses at once, never a big integer
    case("9^9^9^9", (), 3, "overflow"),
    case("9**9**9**9", (), 3, "overflow"),
    case("x^(10^10)", "x=2", 3, "overflow"),
    case("x^(10^10)", "x=1", 0, '"value": 1.0'),
    case("10^-10^10", (), 0, '"value": 0.0'),
    case("2^1024", (), 3, "overflow"),
    case("1e100000000", (), 2, "out of range"),
    case(DIGITS_5000, (), 2, "more than 400 digits"),
    case("1e400", (), 2, "out of range: 1e400"),
    case("1e-400", (), 0, '"value": 0.0'),
    case("exp(1000)", (), 3, "overflow"),
    case("exp(-1000)", (), 0, '"value": 0.0'),
    case("exp(exp(exp(x)))", "x=5", 3, "overflow"),
    case("0^-1", (), 3, "0 raised to a negative power"),
    case("(-8)^(1/3)", (), 3, "negative base with a non-integer exponent"),
    case("max(" + ",".join(["x"] * 20_000) + ")", "x=1", 0, '"x": 1.0'),
    # garbage and Python-isms
    case("", (), 2, "empty expression"),
    case("   ", (), 2, "empty expression"),
    case("\n\n;\n", (), 2, "empty expression"),
    case("a=5", (), 2, "use --at a="),
    case("a==5", "a=1", 2, "comparisons ('==')"),
    case("a+", "a=1", 2, "unexpected end of input"),
    case("*a", "a=1", 2, "unexpected '*'"),
    case("+a", "a=1", 2, "unary '+' is not supported"),
    case("(a", "a=1", 2, "missing ')'"),
    case("a)", "a=1", 2, "no '(' to close"),
    case("((a)", "a=1", 2, "missing ')'"),
    case("a # comment", "a=1", 2, "comments ('#')"),
    case("a, b", "a=1,b=2", 2, "',' is only allowed between a function's arguments"),
    case("a ? b : c", "a=1,b=1,c=1", 2, "'?' is not allowed"),
    case("a!", "a=1", 2, "factorial is not supported"),
    case("a % b", "a=1,b=1", 2, "'%' is not an operator"),
    case("a // b", "a=1,b=1", 2, "floor division"),
    case("a @ b", "a=1,b=1", 2, "'@' multiplies vectors and matrices, not scalars"),
    case("0x10", (), 2, "hexadecimal"),
    case("0b101", (), 2, "hexadecimal, binary and octal"),
    case("1_000", (), 2, "digit separators"),
    case("a\x00b", "a=1,b=1", 2, "NUL character"),
    case("2e*x", "x=1", 2, "ambiguous '2e'"),
    case("1/2x", "x=1", 2, "ambiguous '/2x'"),
    case("2^3x", "x=1", 2, "ambiguous '^3x'"),
    case("a b", "a=1,b=1", 2, "missing operator between 'a' and 'b'"),
    case("2 3", (), 2, "missing operator between numbers"),
    case("1.2.3", (), 2, "missing operator between numbers '1.2' and '.3'"),
    case("x^^y", "x=1,y=1", 2, "unexpected '^'"),
    case("x***y", "x=1,y=1", 2, "unexpected '*'"),
    case("log()", (), 2, "log() needs an argument"),
    case("sin(x, y)", "x=1,y=1", 2, "sin() takes 1 argument, got 2"),
    case("foo(x)", "x=1", 2, "unknown function 'foo'"),
    case("sin x", "x=1", 2, "missing operator"),
    case("u = ; f = u", (), 2, "nothing assigned to 'u'"),
    case("a = b = c", "c=1", 2, "'=' only assigns a stage"),
    case("x; y", "x=1,y=1", 2, "only the last statement may be a bare expression"),
    case("(a;b)", "a=1,b=1", 2, "';' inside parentheses"),
    case("-h", (), 0, "eval [OPTIONS] EXPR"),  # found by fuzzing: the help flag wins over `-h`
    case("--x", "x=2", 0, '"value": 2.0'),
    # Unicode and the terminal: refused and named, never read as ASCII, shown escaped
    case("ｘ+1", "x=1", 2, "U+FF58 (FULLWIDTH LATIN SMALL LETTER X)"),
    case("а+1", "a=1", 2, "U+0430 (CYRILLIC SMALL LETTER A)"),
    case("x²", "x=1", 2, "U+00B2"),
    case("x − y", "x=1,y=1", 2, "U+2212 (MINUS SIGN)"),
    case("x\u200b", "x=1", 2, "U+200B"),
    case("x*٣", "x=1", 2, "U+0663 (ARABIC-INDIC DIGIT THREE)"),
    case("x*１", "x=1", 2, "U+FF11 (FULLWIDTH DIGIT ONE)"),
    case("𝑥", (), 2, "U+1D465"),
    case("a\udcff", "a=1", 2, "invalid UTF-8 (byte 0xFF)"),
    case("\x1b[31mx", "x=1", 2, "\\x1b[31mx"),
    case("\x1b]0;title\x07", (), 2, "control character U+001B"),
    case("[bold]x[/bold]", "x=1", 2, "[bold]x[/bold]"),
    case("x+[/]", "x=1", 2, "x+[/]"),
    case("x\r\ny", "x=1,y=1", 2, "only the last statement may be a bare expression"),
    # --at values
    case("a*b*c", "a=1", 2, "missing values for b, c"),
    case("a", ("a=1", "a=2"), 2, "two different values: 1 and 2"),
    case("a", ("a=1", "a=1.0"), 0, '"a": 1.0'),
    case("a", "a=nan", 2, "nan and inf are not allowed"),
    case("a", "a=inf", 2, "nan and inf are not allowed"),
    case("a", "a=-inf", 2, "nan and inf are not allowed"),
    case("a", "a=NaN", 2, "not a known constant"),
    case("a", "a=1e400", 2, "out of range"),
    case("a", "a=-1e400", 2, "out of range"),
    case("a", "a=1e100000000", 2, "out of range"),
    case("a", f"a={DIGITS_5000}", 2, "more than 400 digits"),
    case("a", "a=0x10", 2, "hexadecimal"),
    case("a", "a=1_000", 2, "digit separators"),
    case("a", "a=٣", 2, "U+0663"),
    case("a", "a=１", 2, "U+FF11"),
    case("a", "a=\x1b[2J", 2, "\\x1b[2J"),
    case("a", "", 2, "empty assignment"),
    case("a", "a=", 2, "missing the value"),
    case("a", "=5", 2, "missing the name"),
    case("a", "a", 2, "expected name=value"),
    case("a", "a=b", 2, "'b' is not a known constant"),
    case("a", "a='5'", 2, "strings are not allowed"),
    case("a", 'a="5"', 2, "strings are not allowed"),
    case("a", "'a'=5", 2, "is not a valid name"),
    case("a", "ａ=5", 2, "is not a valid name"),
    case("a", "__a=5", 2, "is not a valid name"),
    case("a", "a=1;b=2", 2, "not an assignment or a program"),
    case("a", "a=b=1", 2, "not an assignment or a program"),
    case("a", "a=1/0", 2, "division by zero"),
    case("a", "a=exp(1000)", 2, "overflow"),
    case("a", "a=(1", 2, "missing ')'"),
    case("a0", "a=[1,2", 2, "a vector is written"),
    case("a0", "a=[]", 2, "empty element"),
    case("a0", "a=[1,,2]", 2, "empty element"),
    case("a", "a=pi/4", 0, '"a": 0.7853981633974483'),
    case("a", "a=-sqrt(2)", 0, '"a": -1.4142135623730951'),
    case("w0 + w99999", LONG_LIST, 0, '"value": 9.0'),
    # names and structure: what was written, not what a computer-algebra system would read
    case("E*x", "E=2,x=3", 0, '"E": 3.0'),
    case("I*x", "I=2,x=3", 0, '"I": 3.0'),
    case("lambda*w^2", "lambda=2,w=3", 0, '"lambda": 9.0'),
    case("beta", "beta=1", 0, '"beta": 1.0'),
    case("gamma", "gamma=2", 0, '"gamma": 1.0'),
    case("N*S", "N=2,S=3", 0, '"value": 6.0'),
    case("pi*x", "pi=3,x=2", 0, '"pi": 2.0'),
    case("pi*x", "x=2", 0, '"value": 6.283185307179586'),
    case("bc", "b=1,c=2", 2, "missing value for bc"),
    case("2*a^2", "a=3", 0, '"value": 18.0'),
    case("-a^2", "a=3", 0, '"value": -9.0'),
    case("a^b^c", "a=2,b=3,c=2", 0, '"value": 512.0'),
    case("a-b-c", "a=1,b=2,c=3", 0, '"value": -4.0'),
    case("a/b/c", "a=8,b=2,c=2", 0, '"value": 2.0'),
    case("x*x", "x=3", 0, '"x": 6.0'),
    case("exp(log(x))", "x=2", 0, '"x": 1.0'),
]


def corpus_id(c: Case) -> str:
    shown = ascii(c.expression)[1:-1]
    return (shown if len(shown) <= 30 else shown[:30] + "…") + (f" @{ascii(c.at)[:30]}" if c.at else "")


def arguments(c: Case, fmt: str = "json") -> list[str]:
    args = ["eval", c.expression, "--format", fmt]
    for option in c.at:
        args += ["--at", option]
    return args


def test_the_corpus_has_at_least_a_hundred_cases():
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("c", CORPUS, ids=corpus_id)
def test_corpus_case(cli, c):
    run = cli(*arguments(c))
    assert run.code == c.code, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    if c.code:
        assert run.stdout == ""
        assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
        assert c.fragment in run.stderr
    else:
        assert c.fragment in run.stdout


@pytest.mark.parametrize("c", [c for c in CORPUS if c.code], ids=corpus_id)
def test_errors_never_send_control_characters_to_the_terminal(cli, c):
    stderr = cli(*arguments(c)).stderr
    assert stderr[:-1].isprintable(), ascii(stderr)


PLANTED = ["__import__('os').system('touch F')", "open('F', 'w')", "exec('open(1)')",
           "__import__('pathlib').Path('F').touch()", "eval(\"open('F','w')\")"]


@pytest.mark.parametrize("text", PLANTED)
def test_code_in_the_input_creates_no_file(cli, tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    for command, expression, at in (("eval", text, "x=1"), ("eval", "x", f"x={text}"),
                                    ("trace", "x", f"x={text}")):
        assert cli(command, expression, "--at", at).code == 2
    assert list(tmp_path.iterdir()) == []


def test_input_does_not_wait_on_stdin(tmp_path):
    """A real process with a standard input that never ends: `input(a)` must not read it."""
    process = subprocess.Popen([sys.executable, "-m", "gradcalc", "eval", "input(a)", "--at", "a=1"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        code = process.wait(timeout=30)  # stdin stays open: a read would block until the timeout
    finally:
        process.kill()
        process.stdin.close()
    assert code == 2 and process.stdout.read() == ""
    assert "unknown function 'input'" in process.stderr.read()


@pytest.mark.parametrize("data, fragment", [
    (b"a\xff", "invalid UTF-8 (byte 0xFF) at column 2"),
    (b"\xef\xbb\xbfa", "U+FEFF"),
    ("x\N{CYRILLIC SMALL LETTER A}".encode(), "U+0430"),
])
def test_standard_input_is_utf8_and_bad_bytes_are_named(cli, data, fragment):
    run = cli("eval", "-", "--at", "a=1,x=1", stdin=data)
    assert run.code == 2 and fragment in run.stderr


def test_structure_is_kept_as_written(cli):
    nodes = cli("trace", "exp(log(x)) + x*x", "--at", "x=2", "--format", "json").json()["nodes"]
    assert [(n["op"], n["expr"]) for n in nodes] == [
        ("input", "x"), ("log", "log(x)"), ("exp", "exp(u1)"), ("mul", "x*x"), ("add", "u2 + u3")]


# ---- every command, not only eval: (arguments, exit code, fragment of stderr or stdout) ------

CHAIN_5000 = "; ".join(["s = x"] + ["s = sin(s) + x"] * 5000)
TRIPLING_700 = "s = x; " + "; ".join(["s = s*s + s"] * 700)
WIDE_MAX = "max(" + ",".join(f"x{k}" for k in range(3000)) + ")"
WIDE_AT = ",".join(f"x{k}={k % 7}" for k in range(3000))

COMMANDS = [
    (("check", "sin(2000*x)", "--at", "x=1"), 0, "1 gradient agrees"),
    (("check", "sin(1/x)", "--at", "x=0.001"), 0, "1 gradient agrees"),
    (("check", "x", "--at", "x=1", "--rtol", "nan"), 2, "'nan' is not a finite number"),
    (("check", "x", "--at", "x=1", "--atol", "inf"), 2, "'inf' is not a finite number"),
    (("check", CHAIN_5000, "--at", "x=0.3", "--nodes"), 2, "limit GRADCALC_MAX_CHECK_WORK reached"),
    (("check", "relu(x)", "--at", "x=0"), 0, "no gradient judged: x is at a kink"),
    (("check", "log(x)", "--at", "x=0"), 3, "log of 0"),
    (("paths", TRIPLING_700, "--at", "x=0"), 0, "≈ 9.66e+333 paths from s back to x"),
    (("paths", "3"), 2, "the expression has none"),
    (("paths", "x*y", "--at", "x=1,y=2"), 2, "one of: x, y"),
    (("paths", "x*x", "--at", "x=1", "--top", "0"), 2, "--top"),
    (("trace", WIDE_MAX, "--at", WIDE_AT, "--format", "python", "-q"), 0, "f_args = (x0, x1, x2"),
    (("trace", "softplus(x)", "--at", "x=1", "--format", "latex"), 0, r"\operatorname{softplus}"),
    (("trace", "x__y*a_b_c", "--at", "x__y=1,a_b_c=2", "--format", "latex"), 0, r"\mathit{x\_\_y}"),
    (("trace", "log(x)", "--at", "x=0", "--format", "python", "--nonfinite", "ieee"), 2,
     "--format python needs finite values"),
    (("grad", "0"), 0, "(no inputs: the expression is a constant)"),
    (("grad", "x__y*sin(a_b_c)", "--format", "latex"), 0, r"\mathit{a\_b\_c}"),
    (("grad", "x +"), 2, "unexpected end of input"),
    (("graph", "x*y", "--format", "mermaid"), 0, "flowchart"),
    (("graph", "x*y", "-o", "out.jpg"), 2, "does not write .jpg files"),
    (("eval", "x", "--at", "x=1", "--hessian", "--digits", "5"), 2, "--hessian works with float64"),
    (("eval", "x", "--at", "x=1", "--exact", "--digits", "5"), 2, "exclude each other"),
    (("eval", "x", "--at", "x=1", "--reduce", "sum"), 2, "need --data FILE"),
    (("descend", "w*x", "--at", "w=0", "--on-error", "skip"), 2, "--seed need --data FILE"),
    (("descend", "(w*x - y)**2", "--data", "POINTS", "--at", "w=0", "--lr", "nan"), 2,
     "'nan' is not a finite number"),
    (("descend", "(w*x - y)**2", "--data", "POINTS", "--at", "w=0", "--lr", "inf"), 2,
     "'inf' is not a finite number"),
    (("eval", "(w*x - y)**2", "--data", "POINTS", "--at", "w=2", "--format", "json"), 0, '"rows"'),
    (("eval", "(w*x - y)**2", "--data", "POINTS", "--at", "w=2", "--reduce", "none", "--format", "table"),
     2, "--reduce none writes one line per row"),
]


def command_id(entry) -> str:
    args = [arg if len(arg) <= 20 else arg[:20] + "…" for arg in entry[0]]
    return ascii(" ".join(args))[1:-1]


@pytest.mark.parametrize("args, code, fragment", COMMANDS, ids=[command_id(c) for c in COMMANDS])
def test_command_corpus_case(cli, tmp_path, monkeypatch, args, code, fragment):
    points = str(Path(__file__).resolve().parent.parent / "examples" / "points.csv")
    monkeypatch.chdir(tmp_path)
    run = cli(*(points if arg == "POINTS" else arg for arg in args))
    assert run.code == code, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    if code:
        assert run.stdout == ""
        lines = run.stderr.splitlines()
        assert lines[-1].startswith("error: ") and run.stderr.count("error: ") == 1
        assert all(line.startswith("warning: ") for line in lines[:-1])
        assert fragment in lines[-1]
    else:
        assert fragment in run.stdout
