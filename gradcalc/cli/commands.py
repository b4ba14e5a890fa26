"""The expression commands: options in, the text and values read once, one library call, one
renderer out."""
from __future__ import annotations

import click

from gradcalc.analyses.check import ATOL, RTOL
from gradcalc.cli.app import ExpressionCommand, main
from gradcalc.cli.options import (
    FiniteFloat,
    at_point,
    data_options,
    emit,
    expression_options,
    gates_option,
    nonfinite_option,
    number_options,
    number_system,
    outputs_option,
    prepare,
    report,
)
from gradcalc.cli.output import STDOUT, format_chosen, reader_gone, show
from gradcalc.errors import MismatchError, UsageError, VectorOutput
from gradcalc.limits import exact_clock
from gradcalc.render import AUTO_ROWS, OUTLINED, PICTURES, formats, renderer

EPILOG_EVAL = """\b
Examples:
  gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc eval "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --format json
  gradcalc eval "u = b*c; v = a + u; J = 3*v" --at a=5 --at b=3 --at c=2 --wrt a,b
  echo "x**2*(3*x+1) - sin(x**2)" | gradcalc eval - --at x=1.5
  gradcalc eval -f examples/logistic/loss.txt --data examples/logistic/data.csv --at w1=0,w2=0,b=0
  gradcalc eval "(w*x - y)**2" --data examples/points.csv --at w=2 --reduce none --format json
  gradcalc eval "(w*x - y)**2" --data examples/points.csv --at w=2 --engine dask
  gradcalc eval "log(x) + sqrt(y)" --at x=0,y=0 --nonfinite ieee --format json
  gradcalc eval "sin(pi*x)" --at x=1/4 --exact
  gradcalc eval "exp(x)" --at x=1 --digits 1000 --format json
  gradcalc eval "x**2*y + sin(x*y)" --at x=1.5,y=-2 --hessian
  echo '{"expr": "x*y", "at": {"x": 2, "y": 3}}' | gradcalc eval --batch -
  gradcalc eval "sum(sigmoid(W@x + b))" --at W=[[1,-2],[0.5,1]],x=[1,-1],b=[0.5,-0.5]
"""

EPILOG_DESCEND = """\b
Examples:
  gradcalc descend -f examples/logistic/loss.txt --data examples/logistic/data.csv \\
      --at w1=0,w2=0,b=0 --wrt w1,w2,b --lr 0.5 --steps 500
  gradcalc descend -f examples/network/loss.txt --data examples/network/data.csv --reduce sum \\
      --at w1=[-7.8751,-8.3499],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347 \\
      --lr 0.1 --steps 3000 --plot loss.svg
  gradcalc descend "(w*x - y)**2" --data examples/points.csv --at w=0 --batch-size 32 --seed 1 --history h.csv
  gradcalc descend -f examples/network/matrix.txt --at @examples/network/points.txt \\
      --at W1=[[-7.8751],[-8.3499]],b1=[-3.9181,3.8380],w2=[5.0297,-4.0937],b2=1.6347 \\
      --wrt W1,b1,w2,b2 --lr 0.1 --steps 3000
"""

EPILOG_TRACE = """\b
Examples:
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc trace "(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)" --at x=3,y=-4
  gradcalc trace -f examples/logistic/loss.txt --at x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1 --format json
  gradcalc trace "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive
  gradcalc trace "x**2*(3*x+1) - sin(x**2)" --at x=1.5 --format python > backprop.py
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2 --format markdown
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2 -o backprop.html
  gradcalc trace -f examples/chain.txt --at x=0.3,r=2.5 --depth 3
  gradcalc trace "sqrt(x)" --at x=0 --nonfinite ieee
  gradcalc trace "3*(a+b*c)" --at a=5,b=3,c=2 --exact
  gradcalc trace "sigmoid(x)" --at x=1000 --digits 30
  gradcalc trace "z = W@x + b; L = sum(sigmoid(z))" --at W=[[1,-2],[0.5,1]],x=[1,-1],b=0.5
"""

EPILOG_CHECK = """\b
Examples:
  gradcalc check "3*(a+b*c)" --at a=5,b=3,c=2
  gradcalc check -f examples/logistic/loss.txt --at x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1 --nodes
  gradcalc check "x**2*(3*x+1) - sin(x**2)" --at x=1.5 --rtol 1e-9 --format json
"""

EPILOG_GRAD = """\b
Examples:
  gradcalc grad "3*(a+b*c)"
  gradcalc grad "z = w*x + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)" \\
      --stages --simplify
  gradcalc grad "sin(pi*x)" --at x=1/4 --format latex
"""

EPILOG_GRAPH = """\b
Examples:
  gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive -o neuron.svg
  gradcalc graph -f examples/network/loss.txt --at x=0.5,y=1,w10=-7.9,w11=-8.3,b10=-3.9,b11=3.8,w20=5,w21=-4.1,b2=1.6 \\
      --title "Two-layer network, one point" -o network.png
  gradcalc graph -f examples/chain.txt --at x=0.3,r=2.5 --depth 6 -o chain.svg
  gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] -o backprop.html
  gradcalc graph -f examples/chain.txt --at x=0.3,r=2.5 --collapse -o chain.svg
  gradcalc graph "3*(a+b*c)" --format mermaid
  gradcalc graph "3*(a+b*c)" --at a=5,b=3,c=2 | dot -Tpng -o circuit.png
"""

EPILOG_PATHS = """\b
Examples:
  gradcalc paths "x**2*(3*x+1) - sin(x**2)" --at x=1.5
  gradcalc paths "u = x*y; v = u*u + u; f = v*v + v" --at x=1,y=2 --wrt x --top 3
"""


# What --wrt does in each command (graph draws every wire, so it has none).
WRT_EVAL = ("Report the gradient (and --hessian) for these inputs only [default: every input; "
            "with --data, the --at parameters, or every input with --reduce none].")
WRT_TRACE = ("Report the gradient for these inputs only: the 'gradient' of --format json and what "
             "the program of --format python prints; the tables and nodes show every stage.")
WRT_PATHS = "The input whose paths are listed (needed when EXPR has more than one)."
WRT_DESCEND = ("The parameters to train [default: every --at parameter; without --data, every "
               "input]; the others stay fixed.")
WRT_CHECK = "Check the gradient for these inputs only [default: every input]."
WRT_GRAD = "Formulas for these inputs only [default: every input]."


@main.command("eval", cls=ExpressionCommand, epilog=EPILOG_EVAL)
@expression_options("eval", wrt=WRT_EVAL)
@outputs_option
@gates_option
@nonfinite_option
@number_options
@click.option("--hessian", is_flag=True,
              help="Also the matrix of second derivatives (forward-over-reverse), for --wrt.")
@click.option("--jacobian", is_flag=True,
              help="The Jacobian of the outputs, with the passes and local derivatives it took.")
@click.option("--mode", "mode", type=click.Choice(["auto", "reverse", "forward"]),
              help="How --jacobian computes: one reverse pass per output, one forward pass per "
                   "input, or auto: the fewer passes [default: auto].")
@data_options(("mean", "sum", "none"))
@click.option("--engine", type=click.Choice(["numpy", "dask"]), default="numpy", show_default=True,
              help="Run --data in this process, or on Dask (pip install 'gradcalc[dask]').")
@click.option("--scheduler", metavar="ADDRESS", help="A dask.distributed scheduler (--engine dask).")
@click.option("--chunk-size", "chunk_rows", type=click.IntRange(min=1), metavar="N",
              help="Rows read and computed at a time [default: from the size of the graph].")
@click.option("--batch", metavar="FILE",
              help='Evaluate each line of FILE (\'-\': standard input), a JSON object of these '
                   'options ({"expr": "x*y", "at": {"x": 2, "y": 3}}), and write one JSON answer per line.')
@click.pass_context
def eval_command(ctx: click.Context, **options) -> None:
    """Print the value of EXPR and its gradient with respect to every input.

    With --data FILE: the mean (or sum) over the rows of FILE and its gradient with respect
    to the --at parameters, or with --reduce none one result per row (CSV or JSON Lines).
    With --batch FILE: one evaluation per JSON line, one JSON answer per line, in order.
    """
    if options["batch"] is not None:
        from gradcalc.cli.batch import eval_batch

        eval_batch(ctx, options)
        return
    if options["mode"] is not None and not options["jacobian"]:
        raise click.UsageError("--mode says how --jacobian computes the Jacobian: add --jacobian")
    _refuse_header_without_data(options)
    if options["data"] is not None:
        from gradcalc.cli.data import eval_data

        if options["jacobian"]:
            raise click.UsageError("--jacobian counts the passes at one point, not over --data; "
                                   "--output f,g gives the Jacobian of the reduced outputs")

        eval_data(options, fmt_given=format_chosen(ctx))
        return
    if (options["reduce"], options["on_error"], options["engine"], options["scheduler"],
            options["chunk_rows"]) != ("mean", "fail", "numpy", None, None):
        raise click.UsageError("--reduce, --on-error, --engine, --scheduler and --chunk-size "
                               "need --data FILE")
    try:
        eval_at_point(options)
    except VectorOutput as exc:  # eval has its Jacobian too
        raise UsageError(f"{exc}, or give jacobian for the gradient of each element").about("jacobian") from None


def eval_at_point(options: dict) -> None:
    """eval at the --at point, in the mode the options ask for."""
    if options["outputs"] is not None or options["jacobian"]:
        emit_outputs("eval", options)
        return
    if options["exact"] or options["digits"] is not None or options["hessian"]:
        emit_numbers("eval", options)
        return
    job = prepare(options)
    if options["nonfinite"] == "ieee" and (job.graph.vectorised or job.point.shaped):
        from gradcalc.analyses.modes import ieee_on_elements

        evaluation = ieee_on_elements(job.graph, job.point, job.wrt)
        report(job, evaluation.warnings)
        emit(evaluation.renderer, options["fmt"], evaluation.shown, to=destination(options))
        return
    emit("eval", options["fmt"], at_point(job, options["nonfinite"]), to=destination(options))


@main.command("trace", cls=ExpressionCommand, epilog=EPILOG_TRACE)
@expression_options("trace", wrt=WRT_TRACE)
@outputs_option
@click.option("--seed-output", "seed_output", metavar="NAME",
              help="With several --output, the one output whose backward pass is shown.")
@click.option("--mode", "mode", type=click.Choice(["reverse", "forward"]), default="reverse",
              show_default=True,
              help="reverse: the backward pass; forward: the tangent ∂stage/∂x of every stage "
                   "for the one input --wrt x, in the same pass as the values.")
@gates_option
@nonfinite_option
@number_options
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Show only the stages at most N steps from the output (table, markdown, latex).")
@click.option("--collapse/--no-collapse", default=None,
              help=f"Fold repeated rows of long tables [default: when over {AUTO_ROWS} rows].")
def trace_command(**options) -> None:
    """Print every stage of EXPR: forward values, local derivatives, backpropagated gradients.

    --format python prints a standard-library Python program of the same backward pass,
    one d<stage> per stage, that prints the JSON of 'eval --format json' when run.
    """
    fmt, shown = options["fmt"], {}
    if fmt == "html":  # the page draws the circuit: --depth as graph takes it, no rows folded
        if options["collapse"] is not None:
            raise click.UsageError(f"--collapse applies to --format {', '.join(OUTLINED)}; the page "
                                   "shows a row for every stage it draws (--depth N draws fewer)")
        shown = {"depth": options["depth"], "origin": origin(options)}
    elif options["depth"] is not None or options["collapse"] is not None:
        if fmt not in OUTLINED:
            raise click.UsageError(f"--depth and --collapse apply to --format {', '.join(OUTLINED)}")
        shown = {"depth": options["depth"], "collapse": options["collapse"]}
    if options["mode"] == "forward":
        emit_forward(options, **shown)
        return
    if options["outputs"] is not None or options["seed_output"] is not None:
        emit_outputs("trace", options, **shown)
        return
    if options["exact"] or options["digits"] is not None:
        emit_numbers("trace", options, **shown)
        return
    emit("trace", fmt, at_point(prepare(options), options["nonfinite"]), to=destination(options), **shown)


def origin(options: dict) -> str | None:
    """The file the program was read from (-f FILE), for the page to say."""
    name = getattr(options.get("file"), "name", None)
    return name if isinstance(name, str) and not name.startswith("<") else None


def destination(options: dict) -> str:
    """Where the result goes: -o FILE, or standard output."""
    return options.get("output") or STDOUT


def emit_outputs(command: str, options: dict, **shown) -> None:
    """eval and trace with --output (one backward pass per output), --seed-output (the one
    shown) or --jacobian (eval: the Jacobian, by --mode, with what it cost)."""
    job = prepare(options)
    seed = options.get("seed_output")
    if seed is not None:
        job = job._replace(graph=job.graph.seeded_by(seed))
    if len(job.graph.outputs) == 1 or seed is not None:
        if not options.get("jacobian"):  # one backward pass: what eval and trace always show
            if options["exact"] or options["digits"] is not None or options.get("hessian"):
                emit_numbers(command, options, job, **shown)
            else:
                emit(command, options["fmt"], at_point(job, options["nonfinite"]),
                     to=destination(options), **shown)
            return
    if options.get("hessian"):
        raise click.UsageError("--hessian is of one output: choose it with --output NAME")
    if options["nonfinite"] != "strict":
        raise click.UsageError("--nonfinite ieee works with one output")
    if command == "trace" and options["fmt"] not in ("table", "json", "csv"):
        raise click.UsageError(f"--format {options['fmt']} shows one backward pass: choose its "
                               f"output with --seed-output ({', '.join(job.graph.output_names)})")
    if options.get("jacobian"):
        emit_jacobian(job, options)
        return
    emit_numbers(command, options, job, **shown)


def emit_jacobian(job, options: dict) -> None:
    """eval --jacobian: forward or reverse passes, counted, in float64 or exact numbers."""
    from gradcalc.analyses.modes import jacobian_at

    if options["digits"] is not None:
        raise click.UsageError("--jacobian counts passes in float64 or --exact values; for the "
                               "Jacobian to N digits leave out --jacobian (reverse mode)")
    with exact_clock(options["exact"]):
        m = _number_system(options["exact"])
        computed = jacobian_at(job.graph, job.point, wrt=job.wrt, mode=options["mode"] or "auto", m=m)
        report(job, computed.warnings)
        emit("eval --outputs", options["fmt"], computed, to=destination(options))


def emit_forward(options: dict, **shown) -> None:
    """trace --mode forward --wrt x: one forward pass, each stage's tangent beside its value."""
    from gradcalc.analyses.jacobian import tangents

    if options["nonfinite"] != "strict":
        raise click.UsageError("--mode forward works with float64, --exact or --digits values")
    if options["seed_output"] is not None:
        raise click.UsageError("--seed-output chooses a backward pass; --mode forward has none")
    fmt = options["fmt"]
    if fmt not in formats("trace --mode forward"):
        raise click.UsageError(f"--format {fmt} steps through the backward pass; --mode forward "
                               f"writes {', '.join(formats('trace --mode forward'))}")
    if (options["exact"] or options["digits"] is not None) and fmt not in ("table", "json", "csv"):
        raise click.UsageError(f"--format {fmt} shows float64 values; with --exact or --digits "
                               "use table, json or csv")
    with exact_clock(options["exact"]):
        job = prepare(options)
        if job.graph.vectorised or job.point.shaped:  # the pass runs on the elements' circuit
            from gradcalc.analyses.modes import on_elements

            graph, point, elements, _ = on_elements(job.graph, job.point, job.wrt)
            job = job._replace(graph=graph, point=point, wrt=elements)
        wrt = job.wrt or (None,)
        if len(wrt) > 1:
            raise click.UsageError(f"--mode forward differentiates by one input: --wrt "
                                   f"{wrt[0]} (one pass per input; eval --jacobian runs them all)")
        if options["digits"] is not None:
            from gradcalc.analyses.digits import tangents_to_digits

            computed = tangents_to_digits(job.graph, job.point, digits=options["digits"], wrt=wrt[0])
        else:
            m = _number_system(options["exact"])
            computed = tangents(job.graph, job.point.read(m), wrt[0], m=m)
        report(job, computed.warnings)
        emit("trace --mode forward", fmt, computed, to=destination(options), **shown)


def _number_system(exact: bool):
    if exact:
        from gradcalc.numbers import symbolic

        return symbolic
    from gradcalc.numbers import floats

    return floats


def emit_numbers(command: str, options: dict, job=None, **shown) -> None:
    """eval and trace with --exact, --digits or --hessian, or several outputs (`job`, if given,
    is the input already read); exact work runs against the clock."""
    from gradcalc.analyses.modes import compute, compute_outputs
    from gradcalc.api.points import exact_arrays

    exact, digits, hessian = options["exact"], options["digits"], options.get("hessian", False)
    if options["nonfinite"] != "strict":
        raise click.UsageError("--nonfinite ieee works with float64 values only")
    if exact and digits is not None:
        raise click.UsageError("--exact and --digits exclude each other: exact values have every digit")
    if hessian and digits is not None:
        raise click.UsageError("--hessian works with float64 or --exact values, not with --digits")
    fmt = options["fmt"]
    if fmt not in ("table", "json", "csv"):
        raise click.UsageError(f"--format {fmt} shows float64 values; with --exact, --digits or "
                               "--hessian use table, json or csv")
    with exact_clock(exact):
        job = job or prepare(options)
        if len(job.graph.outputs) > 1 and options.get("seed_output") is None:
            evaluation = compute_outputs(command, job.graph, job.point, wrt=job.wrt, exact=exact,
                                         digits=digits, steps=fmt == "table")
        else:
            evaluation = compute(command, job.graph, job.point, wrt=job.wrt, exact=exact,
                                digits=digits, hessian=hessian, steps=fmt == "table",
                                exact_arrays=exact_arrays(job.graph, job.point, exact))
        report(job, evaluation.warnings)
        emit(evaluation.renderer, fmt, evaluation.shown, to=destination(options), **shown)


@main.command("graph", cls=ExpressionCommand, epilog=EPILOG_GRAPH)
@expression_options("graph", wrt=None)
@gates_option
@click.option("--title", metavar="TEXT", help="A title above the picture.")
@click.option("--theme", type=click.Choice(["light", "dark"]), default=None,
              help="Dark or light background (svg, png, pdf) [default: light].")
@click.option("--depth", type=click.IntRange(min=0), metavar="N",
              help="Draw only the stages at most N steps from the output; the stages just "
                   "beyond enter as inputs.")
@click.option("--collapse", is_flag=True,
              help="Draw a block of stages that repeats (the terms of a long sum, the layers of "
                   "a deep nest) as its first and last repetition and one box between them.")
def graph_command(**options) -> None:
    """Draw the circuit of EXPR; with --at, every wire shows its value and its gradient.

    Without --at the picture shows the structure only. -o FILE takes the format from its
    suffix (.svg, .png, .pdf, .dot, .gv, .mmd, .html, .tikz) unless --format says it; PNG and PDF
    need pip install 'gradcalc[figures]'. --format html writes a page that steps through
    the forward and backward passes in a browser.
    """
    fmt, style = options["fmt"], {"title": options["title"], "depth": options["depth"]}
    if options["collapse"]:
        if fmt == "html":
            folding = ", ".join(name for name in formats("graph") if name != "html")
            raise click.UsageError(f"--collapse applies to --format {folding}; the page shows every stage "
                                   "it draws (--depth N draws fewer)")
        style["collapse"] = True
    if options["theme"] is not None:
        if fmt not in PICTURES:
            raise click.UsageError(f"--theme applies to --format {', '.join(PICTURES)}, not {fmt}")
        style["theme"] = options["theme"]
    if fmt == "html":
        style["origin"] = origin(options)
    job = prepare(options)
    if options["at"]:
        result = at_point(job)  # warns as eval does
    else:
        result = None
        report(job, ())  # stages the output does not use: drawn, but said
    show(renderer("graph", fmt)(job.graph, result, **style), destination(options))


@main.command("paths", cls=ExpressionCommand, epilog=EPILOG_PATHS)
@expression_options("paths", wrt=WRT_PATHS)
@gates_option
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, metavar="N",
              help="Show the N paths with the largest contributions.")
def paths_command(**options) -> None:
    """∂output/∂x as the sum over every path from the output back to the input x (--wrt x).

    Each path is its chain of stages and the product of the local derivatives along it.
    Paths are counted without listing them; only the N largest are shown.
    """
    from gradcalc.analyses.paths import path_sum

    job = prepare(options)
    if job.graph.vectorised:  # a path runs through scalars: those of the elements' circuit
        job = prepare({**options, "gates": "scalar"})
    emit("paths", options["fmt"], path_sum(at_point(job), top=options["top"]),
         to=destination(options))


def _refuse_header_without_data(options: dict) -> None:
    if options.get("header") is not None and options["data"] is None:
        raise click.UsageError("--header names the columns of a plain 2-D .npy array given with "
                               "--data FILE: give --data too")


@main.command("descend", cls=ExpressionCommand, epilog=EPILOG_DESCEND)
@expression_options("descend", wrt=WRT_DESCEND)
@gates_option
@data_options(("mean", "sum"))
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=0.1, show_default=True,
              metavar="NUMBER", help="Learning rate: each step moves w by -lr * dJ/dw.")
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True, metavar="N",
              help="How many updates of the parameters.")
@click.option("--batch-size", type=click.IntRange(min=1), metavar="N",
              help="Minibatches of N rows from a shuffled order [default: all rows each step].")
@click.option("--seed", type=int, default=0, show_default=True, metavar="N", help="Seed of the shuffle.")
@click.option("--history", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Write step, loss and parameters of every step as CSV to FILE (.csv; '-': "
                   "standard output, in place of the result).")
@click.option("--plot", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Write the loss curve as an SVG to FILE (.svg; '-': standard output, in place "
                   "of the result).")
@click.option("--log-y", is_flag=True, help="Draw the --plot curve on a logarithmic loss axis.")
def descend_command(**options) -> None:
    """Gradient descent on EXPR reduced over the rows of --data, or without --data on its
    value at the --at point (vectors and matrices too): the --wrt parameters start at their
    --at values and move by -lr times the gradient, --steps times."""
    from gradcalc.cli.data import descend_data, descend_point

    if options["log_y"] and not options["plot"]:
        raise click.UsageError("--log-y draws the curve of --plot FILE: give --plot too")
    _refuse_header_without_data(options)
    if options["data"] is not None:
        descend_data(options)
        return
    if (options["reduce"], options["on_error"], options["batch_size"], options["seed"]) != (
            "mean", "fail", None, 0):
        raise click.UsageError("--reduce, --on-error, --batch-size and --seed need --data FILE; "
                               "without it descend trains on the value at the --at point")
    descend_point(options)


@main.command("check", cls=ExpressionCommand, epilog=EPILOG_CHECK)
@expression_options("check", wrt=WRT_CHECK)
@gates_option
@click.option("--nodes", is_flag=True,
              help="Check every stage too: ∂output/∂stage against perturbing the stage's value "
                   "and re-running the graph downstream of it.")
@click.option("--rtol", type=FiniteFloat(min=0), default=RTOL, show_default=True,
              metavar="NUMBER", help="Relative tolerance of agreement.")
@click.option("--atol", type=FiniteFloat(min=0), default=ATOL, show_default=True,
              metavar="NUMBER", help="Absolute tolerance, for gradients near 0.")
def check_command(**options) -> None:
    """Check the backpropagated gradient of EXPR: for every input, against a central finite
    difference (Ridders' extrapolation) and sympy's derivative at the point.

    A gradient agrees when |backprop − oracle| ≤ atol + rtol·|oracle| (plus the finite
    difference's own error estimate). Exit 0 when all agree, 4 when one does not.
    """
    from gradcalc.analyses.check import check, verdict

    job = prepare(options)
    checked = check(job.graph, job.point, wrt=job.wrt, stages=options["nodes"],
                    rtol=options["rtol"], atol=options["atol"], m=number_system(job))
    report(job, checked.result.warnings + checked.warnings)
    try:
        emit("check", options["fmt"], checked, to=destination(options))
    except BrokenPipeError:  # the report's reader stopped early: the verdict is the exit code all the same
        reader_gone()
    if not checked.agree:
        raise MismatchError(verdict(checked))


@main.command("grad", cls=ExpressionCommand, epilog=EPILOG_GRAD)
@expression_options("grad", wrt=WRT_GRAD)
@click.option("--stages", is_flag=True,
              help="Write the formulas in terms of the named stages too, and add ∂output/∂stage "
                   "for each (∂L/∂z = yhat - y).")
@click.option("--simplify", is_flag=True,
              help="Simplify with sympy, for at most GRADCALC_SIMPLIFY_SECONDS seconds.")
def grad_command(**options) -> None:
    """Print the gradient of EXPR as formulas: ∂output/∂input for every input, no values needed.

    The formulas come from the backward pass run on symbols, with the registry's local rules.
    With --at each is also evaluated exactly at the point.
    """
    from gradcalc.analyses.grad import symbolic_gradient

    job = prepare(options)
    if job.graph.vectorised and options["at"]:  # the formulas of the elements' scalar circuit
        job = prepare({**options, "gates": "scalar"})
    gradient = symbolic_gradient(job.graph, point=job.point if options["at"] else None,
                                 wrt=job.wrt, stages=options["stages"],
                                 simplify=options["simplify"])
    report(job, gradient.warnings)
    emit("grad", options["fmt"], gradient, to=destination(options))
