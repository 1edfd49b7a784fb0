"""Smooth weighted round-robin: the ±1-in-every-100 property, for any weights."""

import collections

from hypothesis import given, settings, strategies as st

from dialer.queue.mix import WeightedMix


def windows_of(seq, size):
    counts = collections.Counter(seq[:size])
    yield counts
    for i in range(size, len(seq)):
        counts[seq[i]] += 1
        counts[seq[i - size]] -= 1
        yield counts


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.integers(1, 300), min_size=1, max_size=8))
def test_every_run_of_100_is_within_one_of_the_share(weights):
    mix = WeightedMix(dict(enumerate(weights)))
    seq = [mix.pick() for _ in range(2000)]
    total = sum(weights)
    for counts in windows_of(seq, 100):
        for key, w in enumerate(weights):
            share = 100 * w / total
            # ±1 of the share, the share rounded outwards when it is not whole.
            assert share - 2 < counts[key] < share + 2
            if share == int(share):
                assert abs(counts[key] - share) <= 1


def test_the_issue_example():
    mix = WeightedMix({"a": 70, "b": 30, "c": 100})
    seq = [mix.pick() for _ in range(1000)]
    for counts in windows_of(seq, 100):
        assert abs(counts["a"] - 35) <= 1 and abs(counts["b"] - 15) <= 1 and abs(counts["c"] - 50) <= 1


@settings(max_examples=100, deadline=None)
@given(weights=st.lists(st.integers(1, 300), min_size=2, max_size=6), gone=st.integers(0, 5))
def test_a_list_that_cannot_give_shares_its_turns_in_proportion(weights, gone):
    gone %= len(weights)
    mix = WeightedMix(dict(enumerate(weights)))
    for _ in range(137):
        mix.pick()
    left = [k for k in range(len(weights)) if k != gone]
    seq = [mix.pick(left) for _ in range(2000)]
    assert gone not in seq
    total = sum(weights[k] for k in left)
    # Credits carried over from before settle within a couple of rounds.
    for counts in list(windows_of(seq[200:], 100)):
        for k in left:
            share = 100 * weights[k] / total
            assert share - 2 < counts[k] < share + 2


def test_nothing_to_pick():
    assert WeightedMix({}).pick() is None
    assert WeightedMix({"a": 1}).pick([]) is None
    assert WeightedMix({"a": 0, "b": 1}).weights == {"b": 1}
