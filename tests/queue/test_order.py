"""Order inside a list: callbacks (owned ones only for their operator), call-mode
priority with time-on-standard ageing, then the list strategy."""

import datetime as dt

import pytest
import trio

from dialer.clock import Clock
from dialer.queue.hopper import Hopper

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY as NOW

MIN = dt.timedelta(minutes=1)


async def _one_list(store, count, strategy="oldest"):
    async def build(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l", strategy=strategy)
        return cid, lid, await seed.leads(conn, cid, lid, count)
    return await store.run(build)


async def test_callbacks_first_and_owned_ones_only_for_their_operator(store):
    cid, lid, ids = await _one_list(store, 5)
    alice = await store.fetchval("INSERT INTO operator (name) VALUES ('alice') RETURNING id")
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at) VALUES ($1, $2, $3)",
                        ids[3], cid, NOW - MIN)
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at, operator_id) VALUES ($1, $2, $3, $4)",
                        ids[4], cid, NOW - MIN, alice)
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at) VALUES ($1, $2, $3)",
                        ids[2], cid, NOW + 10 * MIN)  # not due yet: an ordinary lead for now
    hopper = Hopper(store, Clock(NOW), cid, "n")
    got = await hopper.take(5)
    assert [lead.id for lead in got] == [ids[3], ids[0], ids[1], ids[2]]
    assert got[0].callback_id is not None and got[0].callback_operator is None
    assert await hopper.take(1, ready_operators=[alice + 1]) == []
    mine = await hopper.take(1, ready_operators=[alice])
    assert [lead.id for lead in mine] == [ids[4]] and mine[0].callback_operator == alice


async def test_a_callback_claimed_by_a_refill_goes_ahead_of_leads_already_buffered(store):
    cid, lid, ids = await _one_list(store, 60)
    hopper = Hopper(store, Clock(NOW), cid, "n")
    assert [lead.id for lead in await hopper.take(1)] == [ids[0]]
    buffered = hopper.buffered()
    assert 0 < buffered < 50
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at) VALUES ($1, $2, $3)",
                        ids[-1], cid, NOW - MIN)
    got = await hopper.take(buffered + 1)     # more than the buffer holds: a refill claims the callback
    assert got[0].id == ids[-1] and got[0].callback_id is not None
    assert [lead.id for lead in got[1:buffered + 1]] == ids[1:buffered + 1]


async def test_an_owned_callback_goes_to_anyone_after_the_grace(store, autojump_clock):
    cid, lid, ids = await _one_list(store, 1)
    bob = await store.fetchval("INSERT INTO operator (name) VALUES ('bob') RETURNING id")
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at, operator_id) VALUES ($1, $2, $3, $4)",
                        ids[0], cid, NOW, bob)
    hopper = Hopper(store, Clock(NOW), cid, "n")
    assert await hopper.take(1) == []
    await trio.sleep(15 * 60)  # the campaign's callback_grace
    got = await hopper.take(1)
    assert [lead.id for lead in got] == ids and got[0].callback_operator is None


async def test_call_mode_priority_and_time_on_standard(store):
    cid, lid, ids = await _one_list(store, 2)
    async def more(conn):
        made = {}
        for name, mode, status, due in (("retry", "retry", "NA", NOW - 10 * MIN),
                                        ("aged", "new", "NA", NOW - 120 * MIN),
                                        ("due_new", "new", "NA", NOW - 10 * MIN),
                                        ("later", "new", "NA", NOW + 10 * MIN)):
            made[name] = (await seed.leads(conn, cid, lid, 1, prefix=f"+1505{len(made):03d}", call_mode=mode,
                                           status=status, next_attempt_at=due, attempts=1))[0]
        return made
    made = await store.run(more)
    hopper = Hopper(store, Clock(NOW), cid, "n")
    got = [lead.id for lead in await hopper.take(10)]
    # Aged past the 'new' mode's 60 min time-on-standard, then the 'new' mode (new-lead
    # priority: due retries before fresh leads), then the 'retry' mode.
    assert got == [made["aged"], made["due_new"], ids[0], ids[1], made["retry"]]


@pytest.mark.parametrize("strategy", ["oldest", "newest", "fewest_attempts", "random"])
async def test_list_strategies(store, strategy):
    cid, lid, ids = await _one_list(store, 40, strategy)
    attempts = [(i * 7) % 5 for i in range(40)]
    await store.execute("UPDATE lead SET attempts = a FROM unnest($1::bigint[], $2::int[]) AS u(id, a) "
                        "WHERE lead.id = u.id", ids, attempts)
    hopper = Hopper(store, Clock(NOW), cid, "n", seed=7)
    got = [lead.id for lead in await hopper.take(40)]
    assert sorted(got) == sorted(ids)
    if strategy == "oldest":
        assert got == ids
    elif strategy == "newest":
        assert got == ids[::-1]
    elif strategy == "fewest_attempts":
        by_id = dict(zip(ids, attempts))
        assert got == sorted(ids, key=lambda i: (by_id[i], i))
    else:
        assert got != ids and got != ids[::-1]
