"""Vector and matrix parameters over data, reported as they were given: the data engine runs
the scalar circuit of their elements (`w_0`, `w_1`, as `--gates scalar` unrolls them), and
their values and gradients are folded back into arrays (`w`), as `eval` at a point gives them.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from gradcalc.core.unroll import element_names


def folded(values: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """`values` by name, each array of `shapes` whose elements are all there taken as one
    numpy array in the place of its first element; the other names as they are."""
    elements = {name: element_names(name, shape) for name, shape in shapes.items()}
    first = {names[0]: name for name, names in elements.items()
             if names and all(element in values for element in names)}
    taken = {element for name in first.values() for element in elements[name]}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in first:
            name = first[key]
            out[name] = np.array([float(values[e]) for e in elements[name]]).reshape(shapes[name])
        elif key not in taken:
            out[key] = value
    return out
