"""The top-up claim sent ahead (virtual time's inline store, `Store.send_ahead`): the launch
crosses alone and the claim that refills the buffers is absorbed by the next take. The hopper
must hand out exactly what it hands out with the claim inside the launch's crossing: the same
leads, in the same order, with the same leases going back, whatever the re-checks refuse."""

import datetime as dt

import pytest
import trio
import trio.testing

from dialer.clock import Clock
from dialer.queue.hopper import Hopper
from dialer.store import Store
from dialer.store.attempts import AttemptStart
from dialer.store.launch import recheck_and_start

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

pytestmark = pytest.mark.db

SIZES = [1, 3, 2, 7, 1, 1, 4, 12, 2, 5]


async def _setup(conn):
    cid = await seed.campaign(conn)
    lists = [await seed.lead_list(conn, cid, name, weight=w) for name, w in (("a", 70), ("b", 30), ("c", 100))]
    for lid, count in zip(lists, (300, 40, 300)):
        await seed.leads(conn, cid, lid, count)
    return cid


async def _day(store, cid, steps: int):
    clock = Clock(MONDAY_10_NY)
    hopper = Hopper(store, clock, cid, "n1", lease=dt.timedelta(seconds=60))
    log = []

    async def start(conn, check, leads):
        starts = [AttemptStart(lead_id=lead.id, campaign_id=cid, called_number=lead.phone,
                               started_at=clock.now(), list_id=lead.list_id, node="n1") for lead in leads]
        what, ids, release = check
        return list(await recheck_and_start(conn, what, ids, release, starts))

    async with trio.open_nursery() as nursery:
        # The maintenance loop tops the buffers up between takes too (sent ahead as well).
        await nursery.start(lambda task_status: hopper.run(period=1.0, task_status=task_status))
        await _takes(store, cid, hopper, start, log, steps)
        nursery.cancel_scope.cancel()
    await hopper.release_all()
    leases = await store.fetch("SELECT id FROM lead WHERE lease_owner IS NOT NULL ORDER BY id")
    attempts = await store.fetch("SELECT lead_id FROM attempt ORDER BY id")
    return log, dict(hopper.stats), [r["id"] for r in leases], [r["lead_id"] for r in attempts]


async def _takes(store, cid, hopper, start, log, steps):
    for i in range(steps):
        if i % 10 == 5:
            # DNC entries arrive while leads wait in the buffers: the re-check at take time
            # refuses them, hands their leases back and the hopper rewinds its cursors.
            await store.execute("""INSERT INTO dnc (phone, campaign_id) SELECT phone, NULL FROM lead
                                   WHERE campaign_id = $1 AND id % 9 = $2""", cid, i % 9)
        got = await hopper.take(SIZES[i % len(SIZES)], start=start)
        log.append([lead.id for lead in got])
        for lead in got:
            hopper.done(lead.id)
        await trio.sleep(0.7)


def _run(url, inline: bool, steps: int):
    async def main():
        async with Store.open(url, inline=inline) as store:
            cid = await store.run(_setup)
            return await _day(store, cid, steps)
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_the_top_up_sent_ahead_hands_out_what_the_claim_in_the_crossing_does(database_url, other_database_url):
    in_crossing = _run(database_url, inline=False, steps=60)
    ahead = _run(other_database_url, inline=True, steps=60)
    log, stats, leases, attempts = ahead
    assert sum(map(len, log)) > 150 and stats["dnc_at_take"] > 0 and stats["refills"] > 5, \
        "the day must refill and refuse leads at take time, or it proves nothing"
    assert ahead == in_crossing


def test_takes_of_one_size_wait_on_no_claim_of_their_own_after_the_first(database_url):
    """The top-up behind a launch fills the buffers for another take like it, so a steady run
    of takes never finds a list short (a claim crossing the take would wait on)."""

    async def main():
        async with Store.open(database_url, inline=True) as store:
            cid = await store.run(_setup)
            hopper = Hopper(store, Clock(MONDAY_10_NY), cid, "n1", lease=dt.timedelta(seconds=60))
            waited_on = []
            run_statements = store.run_statements

            async def counted(unit, *args, **kw):
                if unit.__name__ == "claim":
                    waited_on.append(len(waited_on))
                return await run_statements(unit, *args, **kw)

            store.run_statements = counted

            async def start(conn, check, leads):
                what, ids, release = check
                starts = [AttemptStart(lead_id=lead.id, campaign_id=cid, called_number=lead.phone,
                                       started_at=MONDAY_10_NY, list_id=lead.list_id, node="n1") for lead in leads]
                return list(await recheck_and_start(conn, what, ids, release, starts))

            for _ in range(30):
                got = await hopper.take(4, start=start)
                assert len(got) == 4
                for lead in got:
                    hopper.done(lead.id)
                await trio.sleep(0.25)
            return len(waited_on)

    assert trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0)) == 1, "only the first take's"
