"""The multivariable chain rule made visible: ∂output/∂x as a sum over paths.

Every path from the output back to the input x contributes the product of the local
derivatives along it, and the contributions add up to the backpropagated gradient. Paths
multiply quickly (each shared stage doubles them), so they are counted by dynamic
programming, and only the largest contributions are built — the k best paths, kept per
node in one pass down the graph, without enumerating the others.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

from gradcalc import limits
from gradcalc.core.autodiff import Result, vectors_refused
from gradcalc.errors import UsageError


@dataclass(frozen=True)
class Path:
    stages: tuple[str, ...]  # from the output back to the input
    locals: tuple[float, ...]  # ∂stages[k]/∂stages[k+1] along the path
    product: float
    # which argument each step enters (1-based), where a stage takes the same input twice (u*u)
    arguments: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class PathSum:
    output: str
    wrt: str
    gradient: float  # by backpropagation
    count: int  # how many paths lead from the output to wrt
    largest: tuple[Path, ...]  # the biggest |product| first

    @property
    def shown_sum(self) -> float:
        return sum(p.product for p in self.largest)

    @property
    def complete(self) -> bool:
        return len(self.largest) == self.count


def path_sum(result: Result, *, top: int = 10) -> PathSum:
    """Count the paths to the one input in result.wrt and keep the `top` largest of them."""
    graph = result.graph
    if result.shapes is not None:
        raise vectors_refused(graph, "paths")
    if len(result.wrt) != 1:
        if not graph.input_names:
            raise UsageError("paths needs an input to follow, and the expression has none "
                             "(it is a constant)")
        raise UsageError(f"paths needs one input: name it with wrt (one of: "
                         f"{', '.join(graph.input_names)})").about("wrt")
    x = graph.index[result.wrt[0]]
    reaches = _reaching(graph, x)
    count = _count(graph, reaches)
    listed = min(top, count[x])  # building each costs a pass over the graph: a documented limit
    limits.check("GRADCALC_MAX_PATHS", listed, f"top={top:,} would list {listed:,} paths",
                 parameter="top")
    stages = sum(reaches)  # the longest path can pass every stage that depends on x
    limits.check("GRADCALC_MAX_PATH_WORK", listed * stages,
                 f"top={top:,} would list {listed:,} paths through up to {stages:,} stages",
                 parameter="top")
    largest = _largest(result, reaches, x, top) if count[x] else ()
    return PathSum(graph.output_name, graph.nodes[x].name, result.grads[x], count[x], largest)


def _reaching(graph, x: int) -> list[bool]:
    """Whether each node depends on x: only those lie on a path."""
    flags = [False] * len(graph.nodes)
    flags[x] = True
    for i in range(x + 1, len(graph.nodes)):
        flags[i] = any(flags[j] for j in graph.nodes[i].inputs)
    return flags


def _count(graph, reaches: list[bool]) -> list[int]:
    """Paths from the output to each node: each edge passes on its consumer's count."""
    count = [0] * len(graph.nodes)
    count[graph.output] = 1 if reaches[graph.output] else 0
    for i in range(graph.output, -1, -1):
        if count[i]:
            for j in graph.nodes[i].inputs:
                if reaches[j]:
                    count[j] += count[i]
    return count


def _largest(result: Result, reaches: list[bool], x: int, top: int) -> tuple[Path, ...]:
    """The `top` paths with the largest |product|: the best paths into a node extend the
    best paths into its consumers, so keeping `top` per node is enough."""
    graph = result.graph
    # a partial path: (|product|, product, tie-breaker, link); link = (node, edge, earlier link)
    offers: dict[int, list] = {graph.output: [(1.0, 1.0, 0, None)]}
    order = 0
    for i in range(graph.output, x, -1):
        kept = heapq.nlargest(top, offers.pop(i, ()), key=lambda offer: (offer[0], -offer[2]))
        for k, j in enumerate(graph.nodes[i].inputs):
            if not reaches[j] or not kept:
                continue
            local = result.locals[i][k]
            for size, product, _, link in kept:
                order += 1
                offers.setdefault(j, []).append((size * abs(local), product * local, order, (i, k, link)))
    best = heapq.nlargest(top, offers.get(x, ()), key=lambda offer: (offer[0], -offer[2]))
    return tuple(_path(result, x, offer[1], offer[3]) for offer in best)


def _path(result: Result, x: int, product: float, link) -> Path:
    graph = result.graph
    stages, factors, arguments = [graph.nodes[x].name], [], []
    while link is not None:
        i, k, link = link
        inputs = graph.nodes[i].inputs
        stages.append(graph.nodes[i].name)
        factors.append(result.locals[i][k])
        arguments.append(k + 1 if inputs.count(inputs[k]) > 1 else None)
    return Path(tuple(reversed(stages)), tuple(reversed(factors)), product, tuple(reversed(arguments)))
