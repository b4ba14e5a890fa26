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
    },
}


def formats(command: str) -> list[str]:
    return list(RENDERERS[command])


def renderer(command: str, fmt: str) -> Callable[..., Any]:
    module, function = RENDERERS[command][fmt]
    return getattr(import_module(f"{__name__}.{module}"), function)
