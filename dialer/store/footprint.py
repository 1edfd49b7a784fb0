"""What a unit of work may touch, by the keys the engine's hot units share: lead ids and phone
numbers. Lets virtual time's inline store run a crossing *beside* a unit sent ahead
(`Store.send_ahead`) instead of finishing that unit first, when the two cannot see each other.

The two units in question:

* a journal flush (`finish_attempts`, then the wraps behind it, `apply_wraps`/`apply_wrap`)
  writes only rows keyed by the calls it ends or wraps: their attempts (outcome, wrap code), their
  leads (status, lease, next call, completed...), the callbacks and notes of those leads, and DNC
  entries for those leads' numbers (a wrap code that puts the number on DNC inserts a `dnc` row;
  it touches no other lead row: other leads with the number are kept from dialing by that row,
  which the re-check reads by number). Its reads are the same rows, plus rules and operators
  (which no launch writes). Its footprint: the lead ids and numbers of those calls.
* a launch round's statement (`dialer.store.launch.recheck_and_start`) reads, for its own leads
  only, the lead rows (lease, completed), the DNC entries and the attempts of their numbers (abandon
  lock-out, daily limit); it writes attempt rows for them and their lead rows (lease handed back,
  last attempt time), and draws attempt ids (a sequence no flush draws from). Its footprint: its
  lead ids (dialed and handed back) and their numbers.

When the two footprints are disjoint, neither unit reads what the other writes: whichever commits
first, each sees the same rows, returns the same result and leaves the same rows behind as if they
had run one after the other; the day is the same. And they lock disjoint rows (lead, attempt and
callback rows of different leads; the launch takes no lock on `dnc`; the foreign keys' share locks
on campaign, list and operator rows never conflict with each other; an UPDATE locks only the rows
its WHERE matches, tested on its snapshot first), so neither waits on the other inside PostgreSQL,
and no deadlock can form. (Their sequences differ too: only the launch draws attempt ids.)

A footprint is about rows the engine names by lead id and number: the numbers are the ones the
engine holds for its leads (the hopper's claim). A lead whose number was changed in the database
while the engine held it (an import's update by customer key) fails the launch's re-check, which
wants the number in the database to be the number dialed, whichever number the flush wrote for.
Such a launch reads the new number's DNC entries and attempts, which its footprint does not name,
but only to refuse the lead: its result does not depend on them.

`None` for a footprint means "may touch anything": a crossing that declares no reads, or a unit
sent ahead without a footprint, is never run beside anything.
"""

from __future__ import annotations

from typing import Iterable


class Footprint:
    """Lead ids and phone numbers; grows with `add`."""

    __slots__ = ("leads", "numbers")

    def __init__(self, leads: Iterable[int] = (), numbers: Iterable[str] = ()):
        self.leads: set[int] = set(leads)
        self.numbers: set[str] = set(numbers)

    def add(self, lead_id: int, number: str) -> None:
        self.leads.add(lead_id)
        self.numbers.add(number)

    def isdisjoint(self, other: "Footprint") -> bool:
        return self.leads.isdisjoint(other.leads) and self.numbers.isdisjoint(other.numbers)

    def __bool__(self) -> bool:
        return bool(self.leads or self.numbers)

    def __repr__(self) -> str:
        return f"Footprint(leads={sorted(self.leads)}, numbers={sorted(self.numbers)})"


def may_run_beside(reads: Footprint | None, touches: Footprint | None) -> bool:
    """May a crossing that reads and writes `reads` run while a unit that touches `touches` is in
    flight? Only when both are known and disjoint (see the module docstring)."""
    return reads is not None and touches is not None and reads.isdisjoint(touches)
