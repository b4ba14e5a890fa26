#!/usr/bin/env bash
# The circuit pictures of the README, as SVG and PNG under docs/: the sigmoid neuron, the
# seeds' two-layer network loss at one point of its data, and a 50-node program. PNG needs
# the figures extra (pip install ".[figures]"). tests/test_render_views.py checks that the
# SVGs are what these commands draw.
#   bash scripts/figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
gradcalc=${GRADCALC:-gradcalc}
for suffix in svg png; do
    $gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive \
        -o docs/neuron.$suffix
    $gradcalc graph -f examples/network/loss.txt --title "Two-layer network: log loss at x = -0.6, y = 1" \
        --at x=-0.6,y=1,w10=-7.8751,w11=-8.3499,b10=-3.9181,b11=3.8380,w20=5.0297,w21=-4.0937,b2=1.6347 \
        -o docs/network.$suffix
    $gradcalc graph -f docs/program50.txt --title "A 50-node program: three tanh units, squared error, weight decay" \
        --at x1=1,x2=-0.5,w11=0.5,w12=-1,b1=0.1,w21=1.5,w22=0.3,b2=-0.2,w31=-0.7,w32=0.8,b3=0.4,v1=1,v2=-2,v3=0.5,c=0.3,t=0.5 \
        -o docs/program50.$suffix
done
