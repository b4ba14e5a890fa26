"""Write the examples' data files (run from this folder: python3 make_data.py).

network/data.csv: the 51 points of the two-layer network example, x = linspace(-1, 1, 51),
y = 1 where x < -0.5 or x > 0.5. logistic/data.csv: 200 points of two overlapping classes in
the plane, drawn with a fixed seed (logistic/vectors.csv: the same, as the columns x0, x1 of a
vector x). points.csv: 100 points near the line y = 2.5 x, for the
one-parameter fits of `eval --help` and `descend --help`. chain.txt: 400 steps of the logistic
map, a program of 1,203 nodes for the limits and `trace --depth`.
"""
import csv

import numpy as np


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([repr(float(v)) for v in row] for row in rows)


x = np.linspace(-1, 1, 51)
write("network/data.csv", ["x", "y"], zip(x, ((x < -0.5) | (x > 0.5)).astype(float)))

rng = np.random.default_rng(3)
y = (rng.random(200) < 0.5).astype(float)
centres = np.where(y[:, None] == 1, [1.0, 1.5], [-1.0, -0.5])
points = centres + rng.normal(scale=1.2, size=(200, 2))
write("logistic/data.csv", ["x1", "x2", "y"], zip(points[:, 0], points[:, 1], y))
write("logistic/vectors.csv", ["x0", "x1", "y"], zip(points[:, 0], points[:, 1], y))  # x: a vector

rng = np.random.default_rng(7)
x = rng.uniform(-2, 2, 100)
write("points.csv", ["x", "y"], zip(x, 2.5 * x + rng.normal(scale=0.3, size=100)))

with open("chain.txt", "w") as f:
    f.write("x1 = r*x*(1 - x)\n")
    f.writelines(f"x{k + 1} = r*x{k}*(1 - x{k})\n" for k in range(1, 400))
