"""Parsing and lowering make many small objects and no cycles: the cycle collector stays
paused while they run, whoever calls them, and is left as it was found. (Once it resumes,
it may scan the young objects once, as it always does after a pause.)"""
from __future__ import annotations

import gc

import pytest

from gradcalc.core.graph import lower
from gradcalc.core.parse import parse

PROGRAM = "\n".join(f"t{k} = sin(t{k - 1}) * x + {k}" for k in range(1, 5_000)).replace("t0", "x")


@pytest.fixture
def collections():
    seen: list[int] = []

    def note(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)


@pytest.mark.parametrize("step, pauses", [(parse, 1), (lower, 1), (lambda text: lower(parse(text)), 2)])
def test_no_collection_runs_while_a_program_is_read(step, pauses, collections):
    assert gc.isenabled()
    step(PROGRAM)
    assert len(collections) <= pauses  # one after each pause at most; unpaused, dozens
    assert gc.isenabled()


def test_a_paused_collector_stays_paused(collections):
    gc.disable()
    try:
        parse(PROGRAM)
        assert not gc.isenabled()
    finally:
        gc.enable()
