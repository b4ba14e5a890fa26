"""Names typeset as written: LaTeX reads `_` as a subscript and `__` as a power, so a name that
holds them is set as itself; and a constant's gradient says it has none."""
from __future__ import annotations

import pytest

from gradcalc.render.latex import symbol_latex


@pytest.mark.parametrize("name, latex", [
    ("x", "x"), ("u1", "u_{1}"), ("beta", r"\beta"),
    ("x__y", r"\mathit{x\_\_y}"), ("a_b_c", r"\mathit{a\_b\_c}"), ("w_1", r"\mathit{w\_1}"),
    ("_x", r"\mathit{\_x}"),
])
def test_a_name_is_typeset_as_written(name, latex):
    assert symbol_latex(name) == latex


def test_two_names_never_look_alike():
    assert symbol_latex("w_1") != symbol_latex("w1")


def test_the_trace_table_typesets_names_with_underscores_faithfully(cli):
    run = cli("trace", "x__y*sin(a_b_c)", "--at", "x__y=1,a_b_c=2", "--format", "latex")
    assert run.code == 0
    assert r"$\mathit{x\_\_y}$ & input & $1$" in run.stdout
    assert (r"$\frac{\partial u_{1}}{\partial \mathit{a\_b\_c}} = \cos{\left(\mathit{a\_b\_c} "
            r"\right)} = -0.416147$") in run.stdout
    assert "x^{y}" not in run.stdout and "a_{b c}" not in run.stdout


def test_gradient_formulas_typeset_names_with_underscores_faithfully(cli):
    run = cli("grad", "x__y*sin(a_b_c)", "--format", "latex")
    assert run.stdout == (r"\frac{\partial f}{\partial \mathit{x\_\_y}} = \sin{\left(\mathit{a\_b\_c} \right)} \\"
                          "\n" r"\frac{\partial f}{\partial \mathit{a\_b\_c}} = \mathit{x\_\_y} "
                          r"\cos{\left(\mathit{a\_b\_c} \right)}" "\n")


@pytest.mark.parametrize("fmt, said", [("text", "(no inputs: the expression is a constant)\n"),
                                       ("latex", "% no inputs: the expression is a constant\n")])
def test_the_gradient_of_a_constant_says_so(cli, fmt, said):
    run = cli("grad", "2*pi", "--format", fmt)
    assert (run.code, run.stdout) == (0, said)


@pytest.mark.parametrize("op", ["softplus", "relu"])
def test_an_op_without_its_own_latex_is_set_as_an_operator_name(cli, op):
    """Found by scripts/fuzz.py: the default template lost its braces to str.format."""
    run = cli("trace", f"{op}(x)", "--at", "x=1", "--format", "latex")
    assert run.code == 0, run.stderr
    assert rf"$\operatorname{{{op}}}\left(x\right)$" in run.stdout
