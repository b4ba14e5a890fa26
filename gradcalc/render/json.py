"""The JSON contract of `eval` and `trace` (documented in the README; keep it stable)."""
from __future__ import annotations

import math

from gradcalc.core.autodiff import Result
from gradcalc.render.numerals import machine

# What `json.dumps(..., ensure_ascii=False)` escapes in strings; control characters become \uXXXX.
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def eval_document(result: Result) -> dict:
    return {
        "output": result.graph.output_name,
        "value": machine(result.value),
        "at": {name: machine(v) for name, v in result.at.items()},
        "gradient": {name: machine(g) for name, g in result.gradient.items()},
    }


def node_entry(graph, i: int, value, local, number=machine) -> dict:
    """One node of a trace's JSON: its name, op, inputs and definition, value and local
    derivatives (`number` writes them); each trace adds its own last field."""
    node = graph.nodes[i]
    return {"name": node.name, "op": node.op, "inputs": [graph.nodes[j].name for j in node.inputs],
            "expr": graph.definition(i), "value": number(value), "local": [number(p) for p in local]}


def trace_document(result: Result) -> dict:
    document = eval_document(result)
    graph = result.graph
    if result.shapes is not None:
        from gradcalc.render import vectors

        return vectors.trace_document(result, document)
    document["nodes"] = [
        {**node_entry(graph, i, result.values[i], result.locals[i]), "grad": machine(result.grads[i])}
        for i in range(len(graph.nodes))
    ]
    return document


def eval_json(result: Result) -> str:
    return dumps(eval_document(result))


def trace_json(result: Result) -> str:
    return dumps(trace_document(result))


def dumps(value, level: int = 0) -> str:
    """The text `json.dumps(value, indent=2, ensure_ascii=False)` gives, byte for byte.

    Written out because importing the json module takes about 1.5 ms (it compiles six regular
    expressions): a seventh of all that `eval --format json` may add to interpreter start-up.
    """
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{_string(_key(k))}: {dumps(v, level + 1)}" for k, v in value.items()]
        return _block("{", items, "}", level)
    if isinstance(value, (list, tuple)):
        if value and all(type(v) is float for v in value) and all(map(math.isfinite, value)):
            return _block("[", list(map(float.__repr__, value)), "]", level)  # a row of a matrix
        return _block("[", [dumps(v, level + 1) for v in value], "]", level) if value else "[]"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float.__repr__(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _block(opening: str, items: list[str], closing: str, level: int) -> str:
    inner = "\n" + "  " * (level + 1)
    return opening + inner + ("," + inner).join(items) + "\n" + "  " * level + closing


def _key(key) -> str:
    if not isinstance(key, str):
        raise TypeError(f"keys must be str, not {type(key).__name__}")
    return key


def _string(text: str) -> str:
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return '"' + "".join(_ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if ch < " " else ch)
                         for ch in text) + '"'
