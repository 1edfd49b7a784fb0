"""The hopper against a real PostgreSQL: mix, order, leases, dial-time checks."""

import collections
import datetime as dt

import trio

from dialer.clock import Clock
from dialer.queue.hopper import Hopper

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

LEASE = dt.timedelta(seconds=60)


async def _setup_mix(conn):
    cid = await seed.campaign(conn)
    a = await seed.lead_list(conn, cid, "a", weight=70)
    b = await seed.lead_list(conn, cid, "b", weight=30)
    c = await seed.lead_list(conn, cid, "c", weight=100)
    await seed.leads(conn, cid, a, 6000)
    await seed.leads(conn, cid, b, 1000)  # runs dry after about 6,700 dials
    await seed.leads(conn, cid, c, 6000)
    return cid, a, b, c


async def test_weighted_mix_over_10000_dials_with_a_list_running_dry(store):
    cid, a, b, c = await store.run(_setup_mix)
    hopper = Hopper(store, Clock(MONDAY_10_NY), cid, "node-1", lease=LEASE)
    order, seen = [], set()
    sizes = [1, 7, 20, 3, 50, 13]
    i = 0
    while len(order) < 10_500:
        got = await hopper.take(sizes[i % len(sizes)])
        i += 1
        assert got, "ran out of leads"
        for lead in got:
            assert lead.id not in seen, "a lead was handed out twice"
            seen.add(lead.id)
            order.append(lead.list_id)
    last_b = max(i for i, lid in enumerate(order) if lid == b)
    assert order.count(b) == 1000, "every lead of the small list was dialed"
    assert last_b > 6000
    share = {a: 35, b: 15, c: 50}
    # All lists supplied: every run of 100 consecutive dials is within ±1 of 35/15/50.
    for start in range(0, last_b - 100):
        counts = collections.Counter(order[start:start + 100])
        for lid, expected in share.items():
            assert abs(counts[lid] - expected) <= 1, (start, lid, counts[lid])
    # After b ran dry, a and c share its turns 70:100 (41.2/58.8 per 100: within ±1 rounded).
    for start in range(last_b + 1, len(order) - 100):
        counts = collections.Counter(order[start:start + 100])
        assert counts[b] == 0
        assert 40 <= counts[a] <= 43 and 57 <= counts[c] <= 60, (start, counts)


async def test_four_concurrent_nodes_never_share_a_lead(store):
    async def setup(conn):
        cid = await seed.campaign(conn)
        for name, weight in (("x", 50), ("y", 100)):
            lid = await seed.lead_list(conn, cid, name, weight=weight)
            await seed.leads(conn, cid, lid, 1500)
        return cid

    cid = await store.run(setup)
    clock = Clock(MONDAY_10_NY)
    taken: dict[str, list[int]] = {}

    async def node(name):
        hopper = Hopper(store, clock, cid, name, lease=LEASE, dry_retry=dt.timedelta(0))
        mine = taken.setdefault(name, [])
        empty = 0
        while empty < 3:
            got = await hopper.take(17)
            mine.extend(lead.id for lead in got)
            empty = empty + 1 if not got else 0

    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(node, f"node-{i}")
    everything = [i for ids in taken.values() for i in ids]
    assert len(everything) == len(set(everything)) == 3000
    assert all(len(ids) > 0 for ids in taken.values()), "every node got some work"
    owners = {r["id"]: r["lease_owner"] for r in await store.fetch("SELECT id, lease_owner FROM lead")}
    for name, ids in taken.items():
        assert all(owners[i] == name for i in ids)


async def test_a_dead_nodes_leases_return_at_expiry(store, autojump_clock):
    async def setup(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        await seed.leads(conn, cid, lid, 30)
        return cid

    cid = await store.run(setup)
    clock = Clock(MONDAY_10_NY)
    dead = Hopper(store, clock, cid, "dead", lease=LEASE, min_batch=30)
    first = await dead.take(5)
    assert len(first) == 5 and dead.buffered() == 25  # the rest sit leased in its hopper
    alive = Hopper(store, clock, cid, "alive", lease=LEASE, dry_retry=dt.timedelta(0))
    assert await alive.take(30) == []
    await trio.sleep(LEASE.total_seconds() + 1)  # virtual time: the dead node never renews
    back = await alive.take(30)
    # All of them: the 25 left in its hopper and the 5 it was dialing when it died.
    assert {lead.id for lead in back} == {r["id"] for r in await store.fetch("SELECT id FROM lead")}


async def test_a_live_node_renews_its_leases(store, autojump_clock):
    async def setup(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        await seed.leads(conn, cid, lid, 20)
        return cid

    cid = await store.run(setup)
    clock = Clock(MONDAY_10_NY)
    live = Hopper(store, clock, cid, "live", lease=LEASE, min_batch=20)
    other = Hopper(store, clock, cid, "other", lease=LEASE, dry_retry=dt.timedelta(0))
    async with trio.open_nursery() as nursery:
        await nursery.start(live.run)
        await trio.sleep(1)
        assert live.buffered() == 20
        await trio.sleep(LEASE.total_seconds() * 3)
        assert await other.take(20) == []
        nursery.cancel_scope.cancel()
    assert await live.release_all() == 20
    assert len(await other.take(20)) == 20


async def test_dnc_added_while_in_the_hopper_stops_the_dial(store):
    async def setup(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        await seed.leads(conn, cid, lid, 10)
        return cid

    cid = await store.run(setup)
    hopper = Hopper(store, Clock(MONDAY_10_NY), cid, "n", lease=LEASE, min_batch=10)
    first = await hopper.take(1)
    waiting = [lead for buf in hopper._buffers.values() for lead in buf]
    assert len(waiting) == 9
    banned, also_banned = waiting[3], first[0]
    await store.execute("INSERT INTO dnc (phone, campaign_id) VALUES ($1, NULL), ($2, $3)",
                        banned.phone, also_banned.phone, cid)
    rest = await hopper.take(20)
    assert len(rest) == 8 and banned.id not in {lead.id for lead in rest}
    row = await store.fetchrow("SELECT lease_owner FROM lead WHERE id = $1", banned.id)
    assert row["lease_owner"] is None, "the banned lead's lease was given back"
    # The dial-time check on a lead already handed out.
    assert await hopper.recheck(first) == []
    assert await hopper.recheck(rest[:2]) == rest[:2]


async def test_a_window_that_closes_while_in_the_hopper_stops_the_dial(store, autojump_clock):
    async def setup(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        await seed.leads(conn, cid, lid, 5, timezone="America/New_York", region="FL")
        return cid

    cid = await store.run(setup)
    # 19:59:30 in New York on a Monday; Florida stops at 20:00.
    clock = Clock(dt.datetime(2026, 3, 3, 0, 59, 30, tzinfo=dt.timezone.utc))
    hopper = Hopper(store, clock, cid, "n", lease=LEASE, min_batch=5)
    first = await hopper.take(1)
    assert len(first) == 1 and first[0].local_time.hour == 19
    await trio.sleep(31)
    assert await hopper.take(5) == []
    assert await hopper.recheck(first) == []
    leased = await store.fetchval("SELECT count(*) FROM lead WHERE lease_owner IS NOT NULL")
    assert leased == 0


async def test_a_paused_campaign_gives_nothing_and_hands_back_its_leads(store, autojump_clock):
    async def setup(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        await seed.leads(conn, cid, lid, 10)
        return cid

    cid = await store.run(setup)
    hopper = Hopper(store, Clock(MONDAY_10_NY), cid, "n", lease=LEASE, min_batch=10,
                    setup_ttl=dt.timedelta(seconds=5))
    assert len(await hopper.take(1)) == 1 and hopper.buffered() == 9
    await store.execute("UPDATE campaign SET active = false WHERE id = $1", cid)
    await trio.sleep(6)  # the hopper reloads the campaign every setup_ttl
    assert await hopper.take(5) == []
    assert await store.fetchval("SELECT count(*) FROM lead WHERE lease_owner = 'n'") == 1  # the one in flight
