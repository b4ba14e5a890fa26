"""The JSON contract of `eval` and `trace` (documented in the README; keep it stable)."""
from __future__ import annotations

import json

from ..autodiff import Result
from .numbers import machine


def eval_document(result: Result) -> dict:
    return {
        "output": result.graph.output_name,
        "value": machine(result.value),
        "at": {name: machine(v) for name, v in result.at.items()},
        "gradient": {name: machine(g) for name, g in result.gradient.items()},
    }


def trace_document(result: Result) -> dict:
    document = eval_document(result)
    graph = result.graph
    document["nodes"] = [
        {
            "name": node.name,
            "op": node.op,
            "inputs": [graph.nodes[j].name for j in node.inputs],
            "expr": graph.definition(i),
            "value": machine(result.values[i]),
            "local": [machine(p) for p in result.locals[i]],
            "grad": machine(result.grads[i]),
        }
        for i, node in enumerate(graph.nodes)
    ]
    return document


def eval_json(result: Result) -> str:
    return json.dumps(eval_document(result), indent=2, ensure_ascii=False)


def trace_json(result: Result) -> str:
    return json.dumps(trace_document(result), indent=2, ensure_ascii=False)
