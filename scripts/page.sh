#!/usr/bin/env bash
# The neuron's interactive page of the README (docs/neuron.html) and a screenshot of its step
# 11 in headless Chromium (docs/neuron-page.png; Debian: apt-get install chromium).
# tests/test_html.py checks that the page is what this command writes.
#   bash scripts/page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
gradcalc=${GRADCALC:-gradcalc}
$gradcalc graph "sigmoid(w0*x0+w1*x1+w2)" --at w=[2,-3,-3],x=[-1,-2] --gates primitive \
    --title "The sigmoid neuron, step by step" -o docs/neuron.html
${CHROMIUM:-chromium} --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1800,860 \
    --screenshot=docs/neuron-page.png "file://$PWD/docs/neuron.html#step=11" 2>/dev/null
