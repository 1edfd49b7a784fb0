"""N concurrent claimers never lease the same lead twice (property-based)."""

import datetime as dt

import trio
from hypothesis import HealthCheck, given, settings, strategies as st

from dialer.store import Store
from dialer.store.campaigns import create_campaign
from dialer.store.leases import claim_leads

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(seconds=60)


async def _seed(conn, total):
    cid = await conn.fetchval("SELECT id FROM campaign WHERE name = 'claims'")
    if cid is None:
        cid = (await create_campaign(conn, {"name": "claims"}))["id"]
        lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", cid)
        await conn.execute(
            "INSERT INTO lead (campaign_id, list_id, phone, timezone) "
            "SELECT $1, $2, '+1202555' || lpad(g::text, 4, '0'), 'America/New_York' "
            "FROM generate_series(1, $3) g", cid, lid, total)
    await conn.execute("UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL")
    return cid


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claimers=st.integers(2, 8), batch=st.integers(1, 40))
async def test_concurrent_claimers_never_share_a_lead(database_url, claimers, batch):
    # Hypothesis runs each example in its own trio run, so the store is opened here.
    async with Store.open(database_url) as store:
        await _claim_all(store, claimers, batch)


async def _claim_all(store, claimers, batch):
    total = 300
    cid = await store.run(_seed, total)
    claimed: dict[str, list[int]] = {}

    async def claimer(name):
        mine = claimed.setdefault(name, [])
        while True:
            got = await store.run(claim_leads, cid, name, batch, LEASE, NOW)
            if not got:
                return
            mine.extend(got)

    async with trio.open_nursery() as nursery:
        for i in range(claimers):
            nursery.start_soon(claimer, f"node-{i}")

    everything = [lead for ids in claimed.values() for lead in ids]
    assert len(everything) == len(set(everything)), "a lead was claimed twice"
    assert len(everything) == total, "every lead was claimed by someone"
    owners = await store.fetch("SELECT id, lease_owner FROM lead")
    for row in owners:
        assert row["id"] in claimed[row["lease_owner"]]


async def test_expired_leases_return_to_the_pool(store):
    cid = await store.run(_seed, 10)
    first = await store.run(claim_leads, cid, "a", 100, LEASE, NOW)
    assert len(first) == 10
    assert await store.run(claim_leads, cid, "b", 100, LEASE, NOW + dt.timedelta(seconds=30)) == []
    again = await store.run(claim_leads, cid, "b", 100, LEASE, NOW + dt.timedelta(seconds=61))
    assert sorted(again) == sorted(first)
