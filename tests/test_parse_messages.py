"""The parser's messages end with the fix, and a program's unused stages are reported.

Each message is pinned whole: what is wrong, where, and what to type instead.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradcalc.core.graph import lower
from gradcalc.core.ops import FUNCTIONS, Op, each, register, withdraw
from gradcalc.core.parse import parse
from gradcalc.errors import ParseError


def message(text: str) -> str:
    with pytest.raises(ParseError) as caught:
        parse(text)
    return str(caught.value)


def refused(cli, *args: str, stdin: str | None = None) -> str:
    """The one error line of a command that must fail with exit 2 and print nothing."""
    run = cli(*args, stdin=stdin)
    assert (run.code, run.stdout) == (2, "")
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


# ---- a statement that ends inside an open parenthesis ---------------------------------------

LOSS_FILE = "z = w1*x1 + b\nyhat = sigmoid(z\nL = -y*log(yhat)\n"


def test_an_unclosed_parenthesis_in_a_file_is_named_on_its_own_line(cli, tmp_path):
    path = tmp_path / "loss.txt"
    path.write_text(LOSS_FILE, encoding="utf-8")
    line = refused(cli, "eval", "-f", str(path), "--at", "w1=1,x1=2,b=0,y=1")
    assert line == ("error: line 2: unclosed '(' opened at column 15: add the missing ')' "
                    "at column 17: yhat = sigmoid(z")


@pytest.mark.parametrize("text, expected", [
    # the next statement starts while the '(' is open
    ("u = sin(x\nv = u + 1", "line 1: unclosed '(' opened at column 8: add the missing ')' "
                             "at column 10: u = sin(x"),
    # ... even when a later ')' balances the count
    ("y = sin(x\nz = (a+b))", "line 1: unclosed '(' opened at column 8: add the missing ')' "
                              "at column 10: y = sin(x"),
    # the '(' is on an earlier line than where its statement ends
    ("y = sin(x +\n 2\nz = 3", "line 2: unclosed '(' opened at line 1, column 8: add the missing "
                               "')' at column 3:  2"),
    # the text ends after a newline inside the '(': the next lines are not its continuation
    ("u = sin(x\nu + 1", "line 1: add the missing ')' for the '(' at column 8: u = sin(x"),
    ("f = (a +\n b", "line 1: add the missing ')' for the '(' at column 5: f = (a +"),
    ("y = sin(x\n", "line 1: add the missing ')' for the '(' at column 8: y = sin(x"),
    # a ';' inside parentheses ends the statement there
    ("y = sin(x; z = 2", "';' inside parentheses: the '(' opened at column 8 is not closed; "
                         "add ')' before the ';' at column 10: y = sin(x; z = 2"),
    # on one line, the '(' itself
    ("(a+b", "add the missing ')' for the '(' at column 1: (a+b"),
    ("sin (x", "add the missing ')' for the '(' at column 5: sin (x"),
])
def test_a_statement_ending_inside_a_parenthesis_is_blamed_on_the_parenthesis(text, expected):
    assert message(text) == expected


def test_an_earlier_statement_is_still_reported_first():
    assert message("u = a +* b\nv = sin(x\nw = 1").startswith("line 1: unexpected '*'")


def test_newlines_inside_closed_parentheses_still_continue_the_statement():
    program = parse("f = (a +\n b)\ng = max(f,\n a)")
    assert [s.target for s in program.statements] == ["f", "g"]


# ---- functions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("sin x", "missing operator between 'sin' and 'x': a function needs parentheses: sin(x) "
              "at column 5: sin x"),
    ("2*exp 3", "missing operator between 'exp' and '3': a function needs parentheses: exp(3) "
                "at column 7: 2*exp 3"),
    ("a b", "missing operator between 'a' and 'b': write a*b for a product at column 3: a b"),
    ("(a+b) c", "missing operator between ')' and 'c': put '*' between them for a product "
                "at column 7: (a+b) c"),
    ("2 3", "missing operator between numbers '2' and '3': write 2*3 for a product at column 3: 2 3"),
    ("1.2.3", "missing operator between numbers '1.2' and '.3': remove the second '.' "
              "at column 4: 1.2.3"),
    ("log10(x)", "unknown function 'log10': write log(x, 10) at column 1: log10(x)"),
    ("log10(x + 1)", "unknown function 'log10': write log(x + 1, 10) at column 1: log10(x + 1)"),
    ("pow(a,b)", "unknown function 'pow': write a**b at column 1: pow(a,b)"),
    ("pow(a+1, 2)", "unknown function 'pow': write (a+1)**2 at column 1: pow(a+1, 2)"),
    ("pow(a)", "unknown function 'pow': write x**y at column 1: pow(a)"),
    ("arctan(y/x)", "unknown function 'arctan': write atan(y/x) at column 1: arctan(y/x)"),
    ("arcsin(x)", "unknown function 'arcsin': write asin(x) at column 1: arcsin(x)"),
    ("maximum(a, b, c)", "unknown function 'maximum': write max(a, b, c) at column 1: maximum(a, b, c)"),
    ("sine(x)", "unknown function 'sine': did you mean sin(x)? at column 1: sine(x)"),
    ("Sigmoid(z)", "unknown function 'Sigmoid': did you mean sigmoid(z)? at column 1: Sigmoid(z)"),
    ("1 + sqroot(max(a, b))", "unknown function 'sqroot': did you mean sqrt(max(a, b))? "
                              "at column 5: 1 + sqroot(max(a, b))"),
])
def test_function_mistakes_say_what_to_write(text, expected):
    assert message(text) == expected


def test_a_variable_before_a_parenthesis_is_offered_the_product_and_the_functions():
    text = message("x(y+1)")
    known = ", ".join(sorted(FUNCTIONS))
    assert text == f"unknown function 'x': the functions are {known}; for a product write x*(y+1) at column 1: x(y+1)"


def test_the_suggestions_come_from_the_registry():
    register(Op("cube", lambda m, x: x * x * x, each(lambda m, out, x: 3 * x * x), calls=("cube",)))
    try:
        assert message("cub(x)") == "unknown function 'cub': did you mean cube(x)? at column 1: cub(x)"
        assert message("cube x").endswith("a function needs parentheses: cube(x) at column 6: cube x")
    finally:
        withdraw("cube")
    assert message("cub(x)").startswith("unknown function 'cub': the functions are abs,")


def test_a_name_that_reads_as_a_call_is_a_hint_when_its_value_is_missing(cli):
    line = refused(cli, "eval", "sinx + y", "--at", "y=1")
    assert line == ("error: missing value for sinx; 'sinx' is one name: for the function write "
                    "sin(x) (give it with --at sinx=...)")
    assert refused(cli, "eval", "sin + y", "--at", "y=1") == (
        "error: missing value for sin; sin is a function: write sin(...) (give it with --at sin=...)")


def test_a_name_that_reads_as_a_call_is_a_variable_when_given_a_value(cli):
    run = cli("eval", "sinx*cost", "--at", "sinx=3,cost=2", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert run.json()["value"] == 6.0 and run.json()["gradient"] == {"sinx": 2.0, "cost": 3.0}


def test_a_plain_missing_value_gets_no_hint(cli):
    assert refused(cli, "eval", "logits*x", "--at", "x=1") == (
        "error: missing value for logits (give it with --at logits=...)")


@pytest.mark.parametrize("text, expected", [
    ("0x10", "hexadecimal, binary and octal literals are not supported: write 16 at column 1: 0x10"),
    ("0b101", "hexadecimal, binary and octal literals are not supported: write 5 at column 1: 0b101"),
    ("1_000_000", "'_' digit separators are not supported: write 1000000 at column 2: 1_000_000"),
    ("+a", "unary '+' is not supported: remove it at column 1: +a"),
    ("a)", "unbalanced ')': no '(' to close; remove it or add the '(' it closes at column 2: a)"),
    ("u = ; f = u", "nothing assigned to 'u': write an expression after '=' at column 4: u = ; f = u"),
    ("log()", "log() needs an argument: log(x) at column 5: log()"),
    ("a # c", "comments ('#') are not supported: remove the comment at column 3: a # c"),
])
def test_other_refusals_end_with_the_fix(text, expected):
    assert message(text) == expected


# ---- characters pasted from PDFs: refused, with the ASCII to type -----------------------------

@pytest.mark.parametrize("text, expected", [
    ("x − y", "character U+2212 (MINUS SIGN) is not allowed: for '−' type '-' at column 3: x − y"),
    ("a×b", "character U+00D7 (MULTIPLICATION SIGN) is not allowed: for '×' type '*' at column 2: a×b"),
    ("a·b", "character U+00B7 (MIDDLE DOT) is not allowed: for '·' type '*' at column 2: a·b"),
    ("a÷b", "character U+00F7 (DIVISION SIGN) is not allowed: for '÷' type '/' at column 2: a÷b"),
    ("x²", "character U+00B2 (SUPERSCRIPT TWO) is not allowed: for '²' type '^2' at column 2: x²"),
    ("x³+1", "character U+00B3 (SUPERSCRIPT THREE) is not allowed: for '³' type '^3' at column 2: x³+1"),
    ("x⁻¹", "character U+207B (SUPERSCRIPT MINUS) is not allowed: for '⁻¹' type '^-1' at column 2: x⁻¹"),
    ("ｓｉｎ(x)", "character U+FF53 (FULLWIDTH LATIN SMALL LETTER S) is not allowed: "
                "for 'ｓｉｎ' type 'sin' at column 1: ｓｉｎ(x)"),
    ("x*１０", "character U+FF11 (FULLWIDTH DIGIT ONE) is not allowed: for '１０' type '10' "
              "at column 3: x*１０"),
    ("x*٣", "character U+0663 (ARABIC-INDIC DIGIT THREE) is not allowed: for '٣' type '3' "
            "at column 3: x*٣"),
    ("a\u00a0+ b", "character U+00A0 (NO-BREAK SPACE) is not allowed: for '\\xa0' type a space "
                   "at column 2: a\\xa0+ b"),
    ("2π", "character U+03C0 (GREEK SMALL LETTER PI) is not allowed: for 'π' type 'pi' at column 2: 2π"),
    ("λ*x", "character U+03BB (GREEK SMALL LETTER LAMDA) is not allowed: for 'λ' type 'lambda' "
            "at column 1: λ*x"),
    ("x\u200b", "character U+200B (ZERO WIDTH SPACE) is not allowed: it is invisible; delete it "
                "at column 2: x\\u200b"),
    ("а+1", "character U+0430 (CYRILLIC SMALL LETTER A) is not allowed: use ASCII letters, digits "
            "and operators at column 1: а+1"),
    ("|x - y| + 1", "'|' is not an operator here: for an absolute value write abs(x - y) "
                    "at column 1: |x - y| + 1"),
    ("a | b", "'|' is not an operator here: for an absolute value write abs(...) at column 3: a | b"),
])
def test_look_alike_characters_are_refused_with_the_ascii_to_type(text, expected):
    assert message(text) == expected


def test_look_alikes_are_never_read_as_ascii(cli):
    for text in ("2 − 1", "2×3", "x²", "ｘ"):
        assert refused(cli, "eval", text, "--at", "x=1").startswith("error: character U+")


def test_the_hints_cost_nothing_on_valid_input():
    """The modules the hints need are imported on the error path only."""
    probe = ("import sys; from gradcalc.core.graph import lower; "
             "lower('u = sin(x)*(y+1)\\nJ = max(u, 2)'); "
             "print(sorted({'difflib', 'unicodedata'} & set(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_hints_stay_short_on_huge_input():
    pasted = message("ｘ" * 100_000)
    assert pasted.startswith("character U+FF58 (FULLWIDTH LATIN SMALL LETTER X) is not allowed: "
                             f"for '{'ｘ' * 40}' type '{'x' * 40}' at column 1: ")
    assert len(pasted) < 300
    called = message("q" * 100_000 + "(x)")
    assert called.startswith("unknown function 'qqqqqqqqqqqqqqqqqqqqqqqq… (100,000 characters)': "
                             "the functions are ") and len(called) < 400  # the list of functions: 306


# ---- stages the output does not use -----------------------------------------------------------

@pytest.mark.parametrize("program, at, warning", [
    ("u = b*c; v = u+1; w = 7", "b=3,c=2",
     "the output w (the last statement) does not use stages u, v: use them in w, or remove them"),
    ("f = x*y; g = x+y", "x=2,y=3",
     "the output g (the last statement) does not use stage f: use it in g, or remove it"),
    ("c = x; c = 2*y", "x=2,y=3",
     "the output c' (the last statement) does not use stage c: use it in c', or remove it"),
    ("k = 2; f = 3*x", "x=2",
     "the output f (the last statement) does not use stage k: use it in f, or remove it"),
])
def test_stages_the_output_ignores_are_one_warning(cli, program, at, warning):
    run = cli("eval", program, "--at", at, "--format", "json")
    assert run.code == 0 and run.stderr == f"warning: {warning}\n"


def test_the_ignored_stages_do_not_change_the_result(cli):
    run = cli("eval", "f = x*y; g = x+y", "--at", "x=2,y=3", "--format", "json")
    assert run.json()["value"] == 5.0 and run.json()["gradient"] == {"x": 1.0, "y": 1.0}


def test_many_ignored_stages_are_one_line():
    program = "; ".join(f"s{i} = x*{i}" for i in range(1, 15)) + "; f = x"
    (note,) = lower(program).notes
    assert note == ("the output f (the last statement) does not use stages s1, s2, s3, s4, s5, s6, "
                    "s7, s8, s9, s10 and 4 more: use them in f, or remove them")


def test_unused_values_and_ignored_stages_are_separate_warnings(cli):
    run = cli("eval", "f = x*y; g = 2*x", "--at", "x=1,y=2,z=3", "--format", "json")
    assert run.code == 0
    assert run.stderr == ("warning: --at gives z, which the expression does not use\n"
                          "warning: the output g (the last statement) does not use stage f: "
                          "use it in g, or remove it\n")


@pytest.mark.parametrize("program", [
    "u = b*c; v = a + u; J = 3*v",  # a chain
    "u = b*c; f = b*c",  # the same subexpression: f is u's value
    "c = x; c = c + c + 1",  # reassigned, using the earlier value
    "k = 2; f = k*x",  # a constant that is used
    "3*(a+b*c)",  # no stages named at all
])
def test_programs_whose_output_uses_every_stage_have_no_warning(program):
    assert lower(program).unused_stages == () and lower(program).notes == ()


@pytest.mark.parametrize("gates", ["written", "fused", "primitive"])
def test_ignored_stages_are_found_in_every_gate_mode(cli, gates):
    run = cli("trace", "z = w*x; s = 1/(1+exp(-z)); t = tanh(z); f = 2*s", "--at", "x=1,w=2",
              "--gates", gates, "--format", "json")
    assert run.code == 0
    assert run.stderr == ("warning: the output f (the last statement) does not use stage t: "
                          "use it in f, or remove it\n")
