"""Vector and matrix parameters over data, reported as they were given: the data engine runs
the scalar circuit of their elements (`w_0`, `w_1`, as `--gates scalar` unrolls them), and
their values and gradients are folded back into numpy arrays (`w`), as `eval` at a point
gives them.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from gradcalc.core import unroll


def folded(values: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """`values` by name, each array of `shapes` whose elements are all there as one numpy
    array in the place of its first element; the other names as they are."""
    return {name: np.array(value, dtype=float) if isinstance(value, list) else value
            for name, value in unroll.folded(values, shapes).items()}
