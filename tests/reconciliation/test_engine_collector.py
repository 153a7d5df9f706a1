"""The engine pauses the cyclic collector while it runs and hands what it made
to the collector's oldest generation when done (core.pipeline.collector_paused)."""

import gc

from core.pipeline import collector_paused
from reconciliation.engine import reconcile
from tests.reconciliation.scenario import engine_rows, month


def test_what_a_run_made_goes_to_the_oldest_generation_unwalked():
    scenario = month(invoices=300, sales=600, seed=3)
    expected, posted = engine_rows(scenario)
    gc.collect()
    assert gc.isenabled()

    result = reconcile(expected, posted, scenario.settings())

    assert result.matches
    assert gc.isenabled()
    # not walked by a young collection on the way there (it would have been,
    # had it been left in the youngest generation, far past the threshold)
    assert any(thing is result for thing in gc.get_objects(generation=2))


def test_a_collector_paused_by_the_caller_stays_paused():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_made_inside_is_still_collected():
    class Node:
        pass

    with collector_paused():
        first, second = Node(), Node()
        first.other, second.other = second, first
        assert not gc.isenabled()
    del first, second

    assert gc.collect() >= 2
