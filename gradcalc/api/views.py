"""The results of the Python API: each view of the command line as an object that shows itself.

Every view renders with the command's own renderers (render.RENDERERS), so `to_dict()` is
the command's JSON and `.markdown()` its `--format markdown`; `str()` is its table, and
Jupyter shows tables as HTML, circuits as SVG and formulas as LaTeX.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from gradcalc.core import autodiff
from gradcalc.errors import UsageError
from gradcalc.render import SUFFIX_FORMATS, formats, renderer

if TYPE_CHECKING:
    import os

    from gradcalc.analyses.check import Check as CheckReport
    from gradcalc.analyses.digits import Decimals
    from gradcalc.analyses.grad import SymbolicGradient
    from gradcalc.analyses.hessian import Hessian as HessianReport
    from gradcalc.analyses.paths import PathSum
    from gradcalc.core.graph import Graph
    from gradcalc.data.descent import Descent as DescentReport
    from gradcalc.data.plan import Reduced

_View = TypeVar("_View", bound="Result")

WIDTH = 100  # columns of the text tables (str(), HTML); a terminal's own width for __rich__
CIRCUIT = ("svg", "dot", "mermaid", "html")  # formats drawn from the graph, with values when known


class View:
    """What every result shares: its command's formats as methods, `save`, and display."""

    command: ClassVar[str]  # its renderers in render.RENDERERS
    warnings: list[str]

    def shown(self) -> Any:
        """What the renderers of `command` take."""
        return self

    def circuit(self) -> tuple[Graph, autodiff.Result | None] | None:
        """The graph to draw and the values on its wires, for views that have one."""
        return None

    def formats(self) -> list[str]:
        """The formats this view writes (`save` takes them from the file's suffix)."""
        return _union(formats(self.command), list(CIRCUIT) if self.circuit() else [])

    def render(self, fmt: str) -> str:
        """This view in format `fmt` (one of `formats()`), as the command writes it but for
        the newline at its end."""
        return self.rendered(fmt).rstrip("\n")

    def rendered(self, fmt: str) -> str:
        """The renderer's text as it is (what the CLI prints, newline or not)."""
        drawn = self.circuit()
        if fmt in CIRCUIT and drawn is not None:
            return str(renderer("graph", fmt)(*drawn))
        if fmt == "table" and "text" in formats(self.command):
            fmt = "text"
        if fmt not in formats(self.command):
            raise UsageError(f"fmt: {type(self).__name__} has no {fmt} format; it has "
                             f"{', '.join(self.formats())}").about("fmt")
        shown = renderer(self.command, fmt)(self.shown())
        return shown if isinstance(shown, str) else _plain(shown)

    def json(self) -> str:
        return self.render("json")

    def to_dict(self) -> dict[str, Any]:
        """The command's JSON document: `json.dumps(view.to_dict(), indent=2,
        ensure_ascii=False)` is what `--format json` prints."""
        document: dict[str, Any] = json.loads(self.json())
        return document

    def csv(self) -> str:
        return self.render("csv")

    def markdown(self) -> str:
        return self.render("markdown")

    def latex(self) -> str:
        return self.render("latex")

    def python(self) -> str:
        return self.render("python")

    def svg(self) -> str:
        return self.render("svg")

    def dot(self) -> str:
        return self.render("dot")

    def mermaid(self) -> str:
        return self.render("mermaid")

    def html(self) -> str:
        """The interactive page of `--format html`: the circuit stepped through both passes."""
        return self.render("html")

    def save(self, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
        """Write the view to `path` in the format its suffix names (`.md`, `.svg`, ...) unless
        `fmt` says it; the file is replaced only once the view is rendered."""
        target = Path(path)
        fmt = fmt or SUFFIX_FORMATS.get(target.suffix.lower())
        if fmt is None or fmt not in self.formats():
            suffixes = [s for s, f in SUFFIX_FORMATS.items() if f in self.formats()]
            raise UsageError(f"path {target}: {type(self).__name__} is written as "
                             f"{', '.join(suffixes)}, or any file with fmt=...").about("path")
        target.write_text(self.render(fmt) + "\n", encoding="utf-8")
        return target

    def __str__(self) -> str:
        return self.render("table")

    def __rich__(self) -> Any:
        shown = renderer(self.command, _table(self.command))(self.shown())
        if isinstance(shown, str):
            from rich.text import Text

            return Text(shown)
        return shown

    def _repr_html_(self) -> str | None:
        return _pre(str(self))


def _union(*lists: list[str]) -> list[str]:
    """The formats of several lists, each once, in order (a trace writes html itself)."""
    return list(dict.fromkeys(fmt for formats in lists for fmt in formats))


def _table(command: str) -> str:
    return "text" if "text" in formats(command) else "table"


def _plain(renderable: Any, width: int = WIDTH) -> str:
    """A rich renderable as plain text, without escape codes."""
    from rich.console import Console

    console = Console(width=width, color_system=None, no_color=True, highlight=False,
                      markup=False, emoji=False, force_terminal=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get().rstrip("\n")


def _pre(text: str) -> str:
    return ('<pre style="font-family: monospace; line-height: 1.25; white-space: pre">'
            f"{html.escape(text)}</pre>")


class Result(autodiff.Result, View):
    """Value and gradient at a point (`evaluate`); `exact=True` holds sympy numbers."""

    command = "eval"

    @classmethod
    def of(cls: type[_View], result: autodiff.Result, warnings: list[str], exact: bool = False) -> _View:
        view = cls(result.graph, result.values, result.grads, lambda: result.locals, result.wrt,
                   warnings)
        view.shapes, view.steps = result.shapes, result.steps
        view.exact = exact
        return view

    exact = False

    def shown(self) -> Any:
        return self

    @property
    def renderers(self) -> str:
        return f"{self.command} --exact" if self.exact else self.command

    def formats(self) -> list[str]:
        return _union(formats(self.renderers), list(CIRCUIT))

    def rendered(self, fmt: str) -> str:
        if self.exact and fmt not in CIRCUIT:
            return _ExactView(self).rendered(fmt)
        return View.rendered(self, fmt)

    def __rich__(self) -> Any:
        return _ExactView(self).__rich__() if self.exact else View.__rich__(self)

    def circuit(self) -> tuple[Graph, autodiff.Result | None]:
        return self.graph, self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.graph.output_name}={self.value!r}, gradient={self.gradient!r})"


class Trace(Result):
    """Every stage: forward values, local derivatives and gradients (`trace`)."""

    command = "trace"

    def __repr__(self) -> str:
        return (f"Trace({self.graph.output_name}={self.value!r}, {len(self.graph.nodes)} nodes, "
                f"gradient={self.gradient!r})")


class _ExactView(View):
    """A `Result` of exact numbers, shown by the `--exact` renderers."""

    def __init__(self, result: Result):
        self.result, self.warnings = result, result.warnings
        self.command = f"{result.command} --exact"  # type: ignore[misc]

    def shown(self) -> Any:
        return self.result


class Digits(View):
    """Value and gradient to `digits` confirmed significant digits (`evaluate(digits=N)`)."""

    command = "eval --digits"

    def __init__(self, decimals: Decimals):
        self.decimals, self.warnings = decimals, decimals.warnings

    def shown(self) -> Any:
        return self.decimals

    @property
    def value(self) -> str:
        return self.decimals.show(self.decimals.result.value)

    @property
    def gradient(self) -> dict[str, Any]:
        """Decimal strings; a vector's or matrix's are nested lists of them."""
        from gradcalc.core.unroll import folded

        shown = {name: self.decimals.show(g) for name, g in self.decimals.result.gradient.items()}
        return folded(shown, self.decimals.shapes)

    def __repr__(self) -> str:
        return f"Digits({self.decimals.result.graph.output_name}={self.value!r}, gradient={self.gradient!r})"


class TraceDigits(Digits):
    command = "trace --digits"


class Reported(View):
    """A view of one library report, shown by its command's renderers as it is."""

    report: Any

    def __init__(self, report: Any, warnings: list[str] | None = None):
        self.report = report
        self.warnings = report.warnings if warnings is None else warnings

    def shown(self) -> Any:
        return self.report


class Hessian(Reported):
    """The matrix of second derivatives, `matrix[row][column]` (`hessian`)."""

    command = "eval --hessian"

    report: HessianReport

    @property
    def value(self) -> Any:
        return self.report.result.value

    @property
    def gradient(self) -> dict[str, Any]:
        """A vector's or matrix's is a numpy array."""
        gradient = self.report.result.gradient
        if not self.report.shapes:
            return gradient
        from gradcalc.data.shaped import folded

        return folded(gradient, self.report.shapes)

    @property
    def matrix(self) -> dict[str, dict[str, Any]]:
        """Over the flattened inputs: the elements of a vector or matrix are `W[0, 1]`."""
        from gradcalc.core.unroll import element_labels

        labels = element_labels(self.report.shapes)
        return {labels.get(row, row): {labels.get(column, column): v for column, v in columns.items()}
                for row, columns in self.report.matrix.items()}

    def __repr__(self) -> str:
        return f"Hessian({self.report.result.graph.output_name}={self.value!r}, matrix={self.matrix!r})"


class Check(Reported):
    """Backprop against a finite difference and sympy, per input (`check`)."""

    command = "check"

    report: CheckReport

    @property
    def agree(self) -> bool:
        return self.report.agree

    @property
    def verdict(self) -> str:
        from gradcalc.analyses.check import verdict

        return verdict(self.report)

    def __bool__(self) -> bool:
        return self.agree

    def __repr__(self) -> str:
        return f"Check(agree={self.agree}, {self.verdict!r})"


class Gradient(Reported):
    """The gradient as sympy formulas (`grad`); Jupyter shows them in LaTeX."""

    command = "grad"

    report: SymbolicGradient

    @property
    def formulas(self) -> dict[str, Any]:
        """∂output/∂name for every input (and named stage, with `stages=True`), as sympy."""
        return {f.name: f.expression for f in (*self.report.stages, *self.report.inputs)}

    def _repr_html_(self) -> None:
        """None: Jupyter shows the LaTeX, which it would otherwise rank below HTML."""
        return None

    def _repr_latex_(self) -> str:
        lines = [line.replace(" = ", " &= ", 1) for line in self.latex().rstrip().split("\n")]
        return "$$\\begin{aligned}" + "\n".join(lines) + "\\end{aligned}$$"

    def __repr__(self) -> str:
        shown = {name: str(formula) for name, formula in self.formulas.items()}
        return f"Gradient({self.report.graph.output_name}, {shown!r})"


class Paths(Reported):
    """∂output/∂x as a sum over the paths back to x (`paths`)."""

    command = "paths"

    report: PathSum

    @property
    def count(self) -> int:
        return self.report.count

    @property
    def gradient(self) -> float:
        return self.report.gradient

    def __repr__(self) -> str:
        return f"Paths({self.count:,} paths, shown_sum={self.report.shown_sum!r}, gradient={self.gradient!r})"


class DataResult(Reported):
    """The mean (or sum) over the rows of a dataset and its gradient (`evaluate(data=...)`)."""

    command = "data"

    report: Reduced

    @property
    def value(self) -> float:
        return self.report.value

    @property
    def gradient(self) -> dict[str, Any]:
        """Floats; a vector or matrix parameter's is a numpy array."""
        return self.report.gradient

    def __repr__(self) -> str:
        return (f"DataResult({self.report.graph.output_name}={self.value!r}, {self.report.reduce} "
                f"over {self.report.rows:,} rows, gradient={self.gradient!r})")


class Descent(Reported):
    """Gradient descent over a dataset (`descend`): the trained parameters and the loss curve."""

    command = "descend"

    report: DescentReport

    def formats(self) -> list[str]:
        return [*formats(self.command), "csv", "svg"]

    def rendered(self, fmt: str) -> str:
        """Besides the table and JSON: `csv`, the history of `--history`; `svg`, the curve of `--plot`."""
        if fmt == "csv":
            from gradcalc.render.data import history_csv

            return history_csv(self.report)
        if fmt == "svg":
            from gradcalc.render.curve import loss_svg

            return loss_svg(self.report.losses, f"{self.report.graph.output_name} per step")
        return View.rendered(self, fmt)

    @property
    def loss(self) -> float:
        return self.report.loss

    @property
    def at(self) -> dict[str, Any]:
        """Floats, and numpy arrays for vectors and matrices."""
        return self.report.at

    @property
    def gradient(self) -> dict[str, Any]:
        return self.report.gradient

    @property
    def losses(self) -> list[float]:
        return self.report.losses

    def _repr_html_(self) -> str:
        return _pre(str(self)) + self.svg()

    def __repr__(self) -> str:
        return (f"Descent({self.report.graph.output_name}={self.loss!r} after {self.report.steps:,} "
                f"steps, at={self.at!r})")


class Circuit(View):
    """The circuit of a graph, with each wire's value and gradient when a point is given (`graph`)."""

    command = "graph"

    def __init__(self, graph: Graph, result: autodiff.Result | None, warnings: list[str]):
        self.graph, self.result, self.warnings = graph, result, warnings

    def circuit(self) -> tuple[Graph, autodiff.Result | None]:
        return self.graph, self.result

    def formats(self) -> list[str]:
        return list(CIRCUIT)

    def __str__(self) -> str:
        return self.dot()

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(self.dot())

    def _repr_html_(self) -> str:
        return self.svg()

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        values = "with values" if self.result is not None else "structure only"
        return f"Circuit({len(self.graph.nodes)} nodes, output {self.graph.output_name!r}, {values})"
