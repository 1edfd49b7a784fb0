"""The runner's incremental operator counts match a walk over every operator, whatever moves."""

import random

import pytest

from dialer.engine.desk_counts import DeskCounts
from dialer.engine.operators import OperatorDesk, OperatorState as S

from desk_moves import random_move


def walk(desk, campaign_id):
    talking, wrapping, ready, reserved = [], [], 0, 0
    for op in desk.operators.values():
        if not op.serves(campaign_id):
            continue
        if op.state is S.READY:
            ready += 1
        elif op.state is S.RESERVED:
            reserved += 1
        elif op.state is S.ON_CALL:
            talking.append(op.since)
        elif op.state is S.WRAP_UP:
            wrapping.append(op.since)
    return ready, reserved, tuple(talking), tuple(wrapping)


@pytest.mark.parametrize("seed", range(5))
def test_counts_follow_every_move(seed):
    rng = random.Random(seed)
    clock = [0.0]
    desk = OperatorDesk(now=lambda: clock[0])
    for i in (7, 3, 9, 1):            # ids not in order: the desk's order is insertion order
        desk.add(i, f"op{i}", campaigns={1} if i != 9 else {2})
    desk.login(3, ready=True)         # moves before the counts exist are read at the start
    counts = DeskCounts(desk, 1)
    desk.listeners.append(counts.moved)
    desk.add(5, "op5")                # an operator added later (any campaign)
    for _ in range(400):
        clock[0] += rng.random()
        if not random_move(desk, rng):
            continue
        ready, reserved, talking, wrapping = walk(desk, 1)
        assert (counts.ready, counts.reserved, *counts.times()) == (ready, reserved, talking, wrapping)
        # The hopper's ready ids: every ready operator on the desk, any campaign (op9 too).
        assert counts.ready_ids == {o.id for o in desk.operators.values() if o.state is S.READY}
