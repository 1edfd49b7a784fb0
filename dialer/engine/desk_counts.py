"""One campaign's operator counts for the pacer, kept up to date from the desk's listeners.

The runner's snapshot needs, on every launch round, how many of the campaign's operators are
ready and reserved and since when each is talking or in wrap-up. Walking every operator for
that on each round cost more than the rest of the round's own work; the desk already tells
its listeners every move, so the counts follow the moves instead and a round only reads them.

The talking/wrapping times come out in the desk's operator order, as a walk would give them
(a predictive pacer sums them: the same order gives the same floats).
"""

from __future__ import annotations

from .operators import OperatorState

S = OperatorState


class DeskCounts:
    def __init__(self, desk, campaign_id) -> None:
        self.desk, self.campaign_id = desk, campaign_id
        self.ready = 0
        self.reserved = 0
        self._talking: dict[int, float] = {}    # operator id -> since
        self._wrapping: dict[int, float] = {}
        self._positions: dict[int, int] = {}    # operator id -> place in the desk's order
        self._times: tuple[tuple, tuple] | None = None   # (talking, wrapping), until a move
        for op in desk.operators.values():
            self.moved(op, S.LOGGED_OUT, op.state)

    def moved(self, op, old, new) -> None:
        """A desk listener: `op` went from `old` to `new` (its `since` is the move's time)."""
        # An operator's campaigns change only while logged out, so whether it counts here
        # is the same at both ends of a move.
        if not op.serves(self.campaign_id):
            return
        if old is S.READY:
            self.ready -= 1
        elif old is S.RESERVED:
            self.reserved -= 1
        elif old is S.ON_CALL:
            self._talking.pop(op.id, None)
            self._times = None
        elif old is S.WRAP_UP:
            self._wrapping.pop(op.id, None)
            self._times = None
        if new is S.READY:
            self.ready += 1
        elif new is S.RESERVED:
            self.reserved += 1
        elif new is S.ON_CALL:
            self._talking[op.id] = op.since
            self._times = None
        elif new is S.WRAP_UP:
            self._wrapping[op.id] = op.since
            self._times = None

    def times(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(talking since, wrapping since), each in the desk's operator order."""
        if self._times is None:
            self._times = (self._ordered(self._talking), self._ordered(self._wrapping))
        return self._times

    def _ordered(self, since: dict[int, float]) -> tuple[float, ...]:
        positions = self._positions
        if any(op_id not in positions for op_id in since):
            self._positions = positions = {op_id: i for i, op_id in enumerate(self.desk.operators)}
        return tuple(since[op_id] for op_id in sorted(since, key=positions.__getitem__))
