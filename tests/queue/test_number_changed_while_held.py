"""A lead whose number changes in the database while this node holds it (an import's update by
customer key rewrites `lead.phone` whatever the lease): the take-time re-check reads the DNC
list and the number's attempts by the number in the database, but the engine dials the number
it claimed. So the re-check must also see that the two are the same number, or the number
dialed was never checked. A lead that fails it is handed back; the next claim takes it with its
new number, and that number is checked then."""

import pytest

from dialer.clock import Clock
from dialer.queue.hopper import Hopper

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

pytestmark = pytest.mark.db

NEW_NUMBER = "+12029990042"


async def _held_lead_renumbered(store, *, dnc: str | None):
    """A hopper whose buffers hold a campaign's leads; then the next lead in line gets a new
    number in the database, and `dnc` ("old", "new" or None) says which of its numbers is put on
    the DNC list."""
    cid = await store.run(seed.campaign)
    lid = await store.run(seed.lead_list, cid, "l")
    ids = await store.run(seed.leads, cid, lid, 5)
    clock = Clock(MONDAY_10_NY)
    hopper = Hopper(store, clock, cid, "n1")
    assert [lead.id for lead in await hopper.take(1)] == [ids[0]]   # fills the buffers
    renumbered = ids[1]
    old_number = await store.fetchval("SELECT phone FROM lead WHERE id = $1", renumbered)
    await store.execute("UPDATE lead SET phone = $2 WHERE id = $1", renumbered, NEW_NUMBER)
    if dnc is not None:
        await store.execute("INSERT INTO dnc (phone) VALUES ($1)", {"old": old_number, "new": NEW_NUMBER}[dnc])
    return cid, hopper, clock, ids, renumbered, old_number


@pytest.mark.parametrize("dnc", ["old", "new", None],
                         ids=["the number it held is now on DNC", "its new number is on DNC", "no DNC"])
async def test_the_launch_does_not_dial_a_number_the_lead_no_longer_has(store, dnc):
    cid, hopper, clock, ids, renumbered, old_number = await _held_lead_renumbered(store, dnc=dnc)

    got = await hopper.take(1, start=seed.engine_start(cid, clock))

    assert [lead.id for lead in got] == [ids[2]], "the renumbered lead is handed back; the next one replaces it"
    calls = await store.fetch("SELECT lead_id, called_number FROM attempt ORDER BY id")
    assert [r["lead_id"] for r in calls] == [ids[2]]
    assert old_number not in {r["called_number"] for r in calls}
    assert await store.fetchval("SELECT lease_owner FROM lead WHERE id = $1", renumbered) is None


async def test_the_plain_take_does_not_hand_out_a_number_the_lead_no_longer_has(store):
    cid, hopper, clock, ids, renumbered, old_number = await _held_lead_renumbered(store, dnc="old")

    got = await hopper.take(1)

    assert [lead.id for lead in got] == [ids[2]]
    assert await store.fetchval("SELECT lease_owner FROM lead WHERE id = $1", renumbered) is None


async def test_a_later_claim_takes_the_lead_with_its_new_number(store):
    cid, hopper, clock, ids, renumbered, old_number = await _held_lead_renumbered(store, dnc=None)
    assert [lead.id for lead in await hopper.take(1, start=seed.engine_start(cid, clock))] == [ids[2]]

    # Handed back, the lead is anyone's to claim again: a node starting afresh claims it with the
    # number it has now, and dials that.
    fresh = Hopper(store, clock, cid, "n2")
    taken = {lead.id: lead.phone for lead in await fresh.take(5, start=seed.engine_start(cid, clock))}
    assert taken.get(renumbered) == NEW_NUMBER
    called = await store.fetchval("SELECT called_number FROM attempt WHERE lead_id = $1", renumbered)
    assert called == NEW_NUMBER
