"""tune_gc_for_calls: raises the young-generation threshold, never lowers it."""

import gc

import pytest

from dialer.sip.gctune import GEN0_THRESHOLD, tune_gc_for_calls


@pytest.fixture
def saved_thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_raises_gen0_and_keeps_older_generations(saved_thresholds):
    gc.set_threshold(700, 10, 10)
    assert tune_gc_for_calls() == (700, 10, 10)
    assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)


def test_never_lowers_a_higher_threshold(saved_thresholds):
    gc.set_threshold(50_000, 20, 5)
    tune_gc_for_calls()
    assert gc.get_threshold() == (50_000, 20, 5)


def test_leaves_a_disabled_collector_threshold_alone(saved_thresholds):
    gc.set_threshold(0, 10, 10)
    tune_gc_for_calls()
    assert gc.get_threshold() == (0, 10, 10)
