"""Renderers: one function per output format, chosen from a table, imported only when used.

A renderer takes a `Result` and returns text (machine formats) or a rich renderable
(tables); only the CLI prints.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

# command → format → (module, function)
RENDERERS: dict[str, dict[str, tuple[str, str]]] = {
    "eval": {
        "table": ("table", "eval_table"),
        "json": ("json", "eval_json"),
        "csv": ("csv", "eval_csv"),
    },
    "trace": {
        "table": ("table", "trace_table"),
        "json": ("json", "trace_json"),
        "csv": ("csv", "trace_csv"),
        "python": ("python", "trace_python"),
        "markdown": ("markdown", "trace_markdown"),
        "latex": ("latex", "trace_latex"),
        "html": ("html", "trace_html"),
    },
    # graph renderers take (graph, result or None, title=..., depth=..., collapse=...): without
    # values they draw the structure; svg, png and pdf also take theme=, and png and pdf return bytes
    "graph": {
        "dot": ("dot", "graph_dot"),
        "mermaid": ("mermaid", "graph_mermaid"),
        "svg": ("svg", "graph_svg"),
        "png": ("raster", "graph_png"),
        "pdf": ("raster", "graph_pdf"),
        "html": ("html", "graph_html"),
        "tikz": ("tikz", "graph_tikz"),
    },
    "paths": {
        "table": ("paths", "paths_table"),
        "json": ("paths", "paths_json"),
    },
    # eval --data (reduced; --reduce none streams rows itself) and descend
    "data": {
        "table": ("data", "data_table"),
        "json": ("data", "data_json"),
        "csv": ("data", "data_csv"),
    },
    "descend": {
        "table": ("data", "descend_table"),
        "json": ("data", "descend_json"),
    },
    # modes: eval and trace in other number systems (table, json and csv only), Hessians
    "eval --exact": {
        "table": ("modes", "exact_eval_table"),
        "json": ("modes", "exact_eval_json"),
        "csv": ("modes", "exact_eval_csv"),
    },
    "trace --exact": {
        "table": ("modes", "exact_trace_table"),
        "json": ("modes", "exact_trace_json"),
        "csv": ("modes", "exact_trace_csv"),
    },
    "eval --digits": {
        "table": ("modes", "digits_eval_table"),
        "json": ("modes", "digits_eval_json"),
        "csv": ("modes", "digits_eval_csv"),
    },
    "trace --digits": {
        "table": ("modes", "digits_trace_table"),
        "json": ("modes", "digits_trace_json"),
        "csv": ("modes", "digits_trace_csv"),
    },
    "eval --elements": {  # vectors and matrices computed on their elements (--nonfinite ieee)
        "table": ("modes", "elements_eval_table"),
        "json": ("modes", "elements_eval_json"),
        "csv": ("modes", "elements_eval_csv"),
    },
    "eval --hessian": {
        "table": ("modes", "hessian_table"),
        "json": ("modes", "hessian_json"),
        "csv": ("modes", "hessian_csv"),
    },
    # several outputs: the Jacobian (also eval --jacobian), one backward pass per output;
    # forward mode: each stage's tangent, in every trace format
    "eval --outputs": {
        "table": ("outputs", "jacobian_table"),
        "json": ("outputs", "jacobian_json"),
        "csv": ("outputs", "jacobian_csv"),
    },
    "data --outputs": {
        "table": ("data", "outputs_table"),
        "json": ("data", "outputs_json"),
        "csv": ("data", "outputs_csv"),
    },
    "trace --outputs": {
        "table": ("outputs", "trace_table"),
        "json": ("outputs", "trace_json"),
        "csv": ("outputs", "trace_csv"),
    },
    "trace --mode forward": {
        "table": ("forward", "forward_table"),
        "json": ("forward", "forward_json"),
        "csv": ("forward", "forward_csv"),
        "python": ("forward", "forward_python"),
        "markdown": ("forward", "forward_markdown"),
        "latex": ("forward", "forward_latex"),
    },
    "check": {
        "table": ("check", "check_table"),
        "json": ("check", "check_json"),
    },
    "grad": {
        "text": ("grad", "grad_text"),
        "latex": ("grad", "grad_latex"),
        "json": ("grad", "grad_json"),
    },
}

# the suffix of a file name → the format it asks for (`-o FILE`, and `save(path)` in Python)
SUFFIX_FORMATS = {
    ".txt": "table", ".json": "json", ".jsonl": "json", ".csv": "csv", ".md": "markdown",
    ".markdown": "markdown", ".tex": "latex", ".py": "python", ".dot": "dot", ".gv": "dot",
    ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg", ".png": "png", ".pdf": "pdf",
    ".html": "html",
    ".tikz": "tikz",
}

# trace formats that take --depth and --collapse
OUTLINED = ("table", "markdown", "latex")
# graph formats drawn by gradcalc itself, which take --theme
PICTURES = ("svg", "png", "pdf")
AUTO_ROWS = 100  # without --collapse/--no-collapse, tables longer than this are folded (outline.py)


def formats(command: str) -> list[str]:
    return list(RENDERERS[command])


def renderer(command: str, fmt: str) -> Callable[..., Any]:
    module, function = RENDERERS[command][fmt]
    return getattr(import_module(f"{__name__}.{module}"), function)
