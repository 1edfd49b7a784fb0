"""One campaign's operator counts for the pacer, kept up to date from the desk's listeners.

The runner's snapshot needs, on every launch round, how many of the campaign's operators are
ready and reserved and since when each is talking or in wrap-up; the hopper needs the ids of
the ready operators (owned callbacks wait for their owner). Walking every operator for that
on each round cost more than the rest of the round's own work; the desk already tells its
listeners every move, so the counts follow the moves instead and a round only reads them.

The talking/wrapping times come out in the desk's operator order, as a walk would give them
(a predictive pacer sums them: the same order gives the same floats). Each is kept as two
lists sorted by the operator's place in the desk (places, times): a move is a bisect and an
insert or a delete, and a round's read is one tuple() of a list, not a sort.
"""

from __future__ import annotations

from bisect import bisect_left

from .operators import OperatorState

S = OperatorState


class _InDeskOrder:
    """Times by operator, in the desk's order of operators."""

    __slots__ = ("places", "times")

    def __init__(self) -> None:
        self.places: list[int] = []
        self.times: list[float] = []

    def add(self, place: int, since: float) -> None:
        i = bisect_left(self.places, place)
        self.places.insert(i, place)
        self.times.insert(i, since)

    def remove(self, place: int) -> None:
        i = bisect_left(self.places, place)
        if i < len(self.places) and self.places[i] == place:
            del self.places[i]
            del self.times[i]


class DeskCounts:
    def __init__(self, desk, campaign_id) -> None:
        self.desk, self.campaign_id = desk, campaign_id
        self.ready = 0
        self.reserved = 0
        # Every ready operator on the desk, whatever campaigns they serve (what the hopper was
        # given before: a callback whose owner no longer serves this campaign is held back by
        # the runner, not by the hopper).
        self.ready_ids: set[int] = set()
        self._talking = _InDeskOrder()
        self._wrapping = _InDeskOrder()
        self._places: dict[int, int] = {}       # operator id -> place in the desk's order
        self._times: tuple[tuple, tuple] | None = None   # (talking, wrapping), until a move
        for op in desk.operators.values():
            self.moved(op, S.LOGGED_OUT, op.state)

    def moved(self, op, old, new) -> None:
        """A desk listener: `op` went from `old` to `new` (its `since` is the move's time)."""
        if new is S.READY:
            self.ready_ids.add(op.id)
        elif old is S.READY:
            self.ready_ids.discard(op.id)
        # An operator's campaigns change only while logged out, so whether it counts here
        # is the same at both ends of a move.
        if not op.serves(self.campaign_id):
            return
        if old is S.READY:
            self.ready -= 1
        elif old is S.RESERVED:
            self.reserved -= 1
        elif old is S.ON_CALL:
            self._talking.remove(self._place(op.id))
            self._times = None
        elif old is S.WRAP_UP:
            self._wrapping.remove(self._place(op.id))
            self._times = None
        if new is S.READY:
            self.ready += 1
        elif new is S.RESERVED:
            self.reserved += 1
        elif new is S.ON_CALL:
            self._talking.add(self._place(op.id), op.since)
            self._times = None
        elif new is S.WRAP_UP:
            self._wrapping.add(self._place(op.id), op.since)
            self._times = None

    def times(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(talking since, wrapping since), each in the desk's operator order."""
        if self._times is None:
            self._times = (tuple(self._talking.times), tuple(self._wrapping.times))
        return self._times

    def _place(self, op_id: int) -> int:
        place = self._places.get(op_id)
        if place is None:
            # An operator added to the desk since: the desk only appends, so the places
            # known so far stay what they were.
            self._places = {i: n for n, i in enumerate(self.desk.operators)}
            place = self._places[op_id]
        return place
