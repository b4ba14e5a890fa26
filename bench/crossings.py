"""How readable the circuit pictures are: wire crossings and wire length, gradcalc's own SVG
beside Graphviz's `dot` on gradcalc's DOT output of the same graph (values on the wires).

Crossings are counted on the drawings themselves: every point where two wire pieces (SVG
lines; dot's Bézier edges, sampled at 16 points per curve and ending at the tip of their
arrowhead) cross away from the ends of either piece.
Wire length is scale-free in two ways: the wires' total length in column widths (the
drawing's width over the longest path from an input to the output's name), and their total
length over their total horizontal run, 1.00 when every wire runs level. The graphs: the worked examples, the seeds'
network loss at one point, the 46- and 50-node programs of the tests and docs, and random
programs of 10 to 80 nodes from fixed seeds. `dot` is optional: without it, its columns are
left empty.

    python3 bench/crossings.py            # the Markdown table (bench/README.md has the latest)

After the table, the time the layout takes on the largest graph of the set, in-process
(lowered once; the median of 7 layouts).
"""
from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORK_AT = "x=-0.6,y=1,w10=-7.8751,w11=-8.3499,b10=-3.9181,b11=3.8380,w20=5.0297,w21=-4.0937,b2=1.6347"
PROGRAM50_AT = ("x1=1,x2=-0.5,w11=0.5,w12=-1,b1=0.1,w21=1.5,w22=0.3,b2=-0.2,w31=-0.7,w32=0.8,b3=0.4,"
                "v1=1,v2=-2,v3=0.5,c=0.3,t=0.5")
PROGRAM46 = ("h1 = tanh(a1*x + b1*y + c1); h2 = sigmoid(a2*x + b2*y + c2); h3 = relu(a3*x + b3*y + c3); "
             "o = v1*h1 + v2*h2 + v3*h3 + d; L = (o - t)**2 + 0.01*(a1*a1 + a2*a2 + a3*a3)")
PROGRAM46_AT = ("a1=0.5,b1=-1,c1=0.1,a2=1.5,b2=0.3,c2=-0.2,a3=-0.7,b3=0.8,c3=0.4,"
                "v1=1,v2=-2,v3=0.5,d=0.3,x=1,y=2,t=0.5")
WORKED = [
    ("3*(a+b*c)", "a=5,b=3,c=2"),
    ("u = b*c; v = a + u; J = 3*v", "a=5,b=3,c=2"),
    ("sigmoid(w0*x0+w1*x1+w2)", "w=[2,-3,-3],x=[-1,-2]"),
    ("(x + sigmoid(y)) / (sigmoid(x) + (x+y)**2)", "x=3,y=-4"),
    ("z = w1*x1 + w2*x2 + b; yhat = sigmoid(z); L = -y*log(yhat) - (1-y)*log(1-yhat)",
     "x1=1.5,x2=2.5,w1=-4,w2=3,b=-1,y=1"),
    ("x**2*(3*x+1) - sin(x**2)", "x=1.5"),
]
FORMS = ["{a}*{b} + 1", "tanh({a}) - {b}", "{a}/(1 + {b}**2)", "sigmoid({a} + {b})", "({a} - {b})**2",
         "softplus({a})*{b}", "{a}*{b}"]
SAMPLES = 16


def random_program(statements: int, seed: int) -> tuple[str, str]:
    """Statements over earlier names and fresh inputs: a few nodes per statement."""
    pick = random.Random(seed)
    names, lines, at = ["p0", "p1", "p2"], [], {"p0": 0.5, "p1": -1.0, "p2": 2.0}
    for k in range(statements):
        a, b = pick.choice(names), pick.choice(names[-4:])
        if pick.random() < 0.35:
            fresh = f"p{len(at)}"
            at[fresh], a = round(pick.uniform(-1, 1), 2), fresh
        lines.append(f"s{k} = " + pick.choice(FORMS).format(a=a, b=b))
        names.append(f"s{k}")
    return "; ".join(lines), ",".join(f"{k}={v}" for k, v in at.items())


def graphs() -> list[tuple[str, str, str]]:
    """(name, program, point) of every graph measured."""
    out = [(f"worked {k + 1}", e, a) for k, (e, a) in enumerate(WORKED)]
    out.append(("network loss", (ROOT / "examples" / "network" / "loss.txt").read_text(), NETWORK_AT))
    out.append(("program, 46 nodes", PROGRAM46, PROGRAM46_AT))
    out.append(("program, 50 nodes", (ROOT / "docs" / "program50.txt").read_text(), PROGRAM50_AT))
    for statements, seed in [(3, 1), (5, 2), (8, 3), (10, 4), (12, 5), (15, 6), (18, 7), (22, 8), (26, 9)]:
        out.append((f"random, seed {seed}", *random_program(statements, seed)))
    return out


def gradcalc(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout


def svg_pieces(svg: str) -> list[list[tuple[float, float]]]:
    """gradcalc's wires: one piece per SVG line, the legend's sample wire left out."""
    root = ET.fromstring(svg)
    lines = [[(float(ln.get("x1")), float(ln.get("y1"))), (float(ln.get("x2")), float(ln.get("y2")))]
             for ln in root.iter("{http://www.w3.org/2000/svg}line")]
    legend = max(p[0][1] for p in lines)  # the lowest line is the legend's
    return [p for p in lines if not (p[0][1] == p[1][1] == legend)]


def dot_pieces(dot: str) -> list[list[tuple[float, float]]] | None:
    """dot's edges as polylines sampled from their Bézier curves; None without Graphviz."""
    if shutil.which("dot") is None:
        return None
    layout = json.loads(subprocess.run(["dot", "-Tjson"], input=dot, capture_output=True, text=True,
                                       check=True, timeout=120).stdout)
    pieces = []
    for edge in layout.get("edges", []):
        for op in edge.get("_draw_", []):
            if op["op"] in "bB":
                pieces.append(_sampled(op["points"]) + _arrow_tip(edge, op["points"][-1]))
    return pieces


def _arrow_tip(edge: dict, end: list[float]) -> list[tuple[float, float]]:
    """The tip of the edge's arrowhead, where the wire really ends (dot draws the curve only
    up to the arrowhead's base): its corner farthest from the curve's end."""
    corners = [tuple(p) for op in edge.get("_hdraw_", []) if op["op"] in "pP" for p in op["points"]]
    return [max(corners, key=lambda p: math.dist(p, end))] if corners else []


def _sampled(points: list[list[float]]) -> list[tuple[float, float]]:
    out = [tuple(points[0])]
    for k in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[k:k + 4]
        for s in range(1, SAMPLES + 1):
            t = s / SAMPLES
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                        a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return out


def crossings(pieces: list[list[tuple[float, float]]]) -> int:
    """Points where two different wire pieces cross, away from the ends of either piece (a
    sampled curve's inner sample points are not ends: a crossing there counts once)."""
    runs = [_run(piece) for piece in pieces]
    boxes = [_box(piece) for piece in pieces]
    count = 0
    for k in range(len(pieces)):
        for m in range(k + 1, len(pieces)):
            if _apart(boxes[k], boxes[m]):
                continue
            points: list[tuple[float, float]] = []
            for a, b, sa in runs[k][0]:
                for c, d, sc in runs[m][0]:
                    point = _meeting(a, b, sa, runs[k][1], c, d, sc, runs[m][1])
                    if point and all(math.dist(point, seen) > ENDS for seen in points):
                        points.append(point)
            count += len(points)
    return count


ENDS = 0.5  # a crossing within this of a piece's end counts as the pieces meeting there


def _run(piece: list[tuple[float, float]]) -> tuple[list, float]:
    """The piece's segments, each with the length of the piece before it, and its length."""
    segments, walked = [], 0.0
    for a, b in zip(piece, piece[1:]):
        segments.append((a, b, walked))
        walked += math.dist(a, b)
    return segments, walked


def _box(piece: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in piece], [p[1] for p in piece]
    return min(xs), min(ys), max(xs), max(ys)


def _apart(a, b) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def _meeting(a, b, sa: float, la: float, c, d, sc: float, lc: float) -> tuple[float, float] | None:
    """Where segments ab and cd cross, when that is inside both and away from both pieces'
    ends (sa, sc: how far along its piece each segment starts; la, lc: the pieces' lengths)."""
    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2, d3, d4 = side(c, d, a), side(c, d, b), side(a, b, c), side(a, b, d)
    if not (d1 * d2 < 0 and d3 * d4 < 0):
        return None
    t, u = d1 / (d1 - d2), d3 / (d3 - d4)  # how far along ab, along cd
    along_a, along_c = sa + t * math.dist(a, b), sc + u * math.dist(c, d)
    if min(along_a, la - along_a) <= ENDS or min(along_c, lc - along_c) <= ENDS:
        return None
    return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])


def stretch(pieces: list[list[tuple[float, float]]]) -> float:
    length = run = 0.0
    for piece in pieces:
        for a, b in zip(piece, piece[1:]):
            length += math.dist(a, b)
            run += abs(b[0] - a[0])
    return length / run if run else 1.0


def length_in_columns(pieces: list[list[tuple[float, float]]], steps: int) -> float:
    """The wires' total length in column widths: a column is the drawing's width over `steps`
    (the longest path from an input to the output's name)."""
    xs = [p[0] for piece in pieces for p in piece]
    length = sum(math.dist(a, b) for piece in pieces for a, b in zip(piece, piece[1:]))
    return length * steps / (max(xs) - min(xs))


def longest_path(nodes: list[dict]) -> int:
    """Wires on the longest path from an input to the output's name (constants not drawn)."""
    drawn = {n["name"]: n for n in nodes if n["op"] != "const"}
    depth: dict[str, int] = {}
    for name, node in drawn.items():  # in topological order
        depth[name] = 1 + max((depth[j] for j in node["inputs"] if j in depth), default=-1)
    return 1 + max(depth.values())


def measure() -> list[dict]:
    rows = []
    for name, program, at in graphs():
        nodes = json.loads(gradcalc("trace", program, "--at", at, "--format", "json"))["nodes"]
        ours = svg_pieces(gradcalc("graph", program, "--at", at, "--format", "svg"))
        theirs = dot_pieces(gradcalc("graph", program, "--at", at, "--format", "dot"))
        steps = longest_path(nodes)
        rows.append({"graph": name, "nodes": sum(1 for n in nodes if n["op"] != "const"),
                     "gradcalc": crossings(ours), "dot": None if theirs is None else crossings(theirs),
                     "gradcalc_length": length_in_columns(ours, steps),
                     "dot_length": None if theirs is None else length_in_columns(theirs, steps),
                     "gradcalc_stretch": stretch(ours), "dot_stretch": None if theirs is None else stretch(theirs)})
    return rows


def table(rows: list[dict]) -> str:
    def shown(value, digits=0):
        return "—" if value is None else f"{value:.{digits}f}"

    def total(key):
        return None if any(r[key] is None for r in rows) else sum(r[key] for r in rows)

    lines = ["| graph | nodes | crossings, gradcalc | crossings, dot | wire length in columns, gradcalc | "
             "wire length in columns, dot | wire length / run, gradcalc | wire length / run, dot |",
             "| :-- | --: | --: | --: | --: | --: | --: | --: |"]
    for r in rows:
        lines.append(f"| {r['graph']} | {r['nodes']} | {r['gradcalc']} | {shown(r['dot'])} | "
                     f"{r['gradcalc_length']:.1f} | {shown(r['dot_length'], 1)} | "
                     f"{r['gradcalc_stretch']:.2f} | {shown(r['dot_stretch'], 2)} |")
    lines.append(f"| **all {len(rows)}** | {sum(r['nodes'] for r in rows)} | **{total('gradcalc')}** | "
                 f"**{shown(total('dot'))}** | **{total('gradcalc_length'):.0f}** | **{shown(total('dot_length'))}** "
                 "| | |")
    return "\n".join(lines)


def layout_seconds(program: str, repeats: int = 7) -> float:
    """The median time of `render.layers.layered` on the program's circuit, in this process."""
    sys.path.insert(0, str(ROOT))
    from gradcalc.core.graph import lower
    from gradcalc.render.circuit import circuit
    from gradcalc.render.layers import layered

    graph = lower(program)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        layered(circuit(graph), graph.output)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


if __name__ == "__main__":
    rows = measure()
    print(table(rows))
    largest = max(zip(rows, graphs()), key=lambda pair: pair[0]["nodes"])
    print(f"\nlayout of the largest graph ({largest[0]['graph']}, {largest[0]['nodes']} nodes): "
          f"{layout_seconds(largest[1][1]):.2f} s, median of 7")
