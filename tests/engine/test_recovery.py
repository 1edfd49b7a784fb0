"""Crash recovery at start: open attempts closed as unknown, leases given back."""

import datetime as dt

from dialer.store.campaigns import create_campaign
from dialer.store.leases import claim_leads
from dialer.store.recovery import recover_node, renew_leases

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 3, 15, tzinfo=UTC)


async def _seed(conn):
    cid = (await create_campaign(conn, {"name": "crash"}))["id"]
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", cid)
    await conn.execute(
        "INSERT INTO lead (campaign_id, list_id, phone, timezone) "
        "SELECT $1, $2, '+1212555' || lpad(g::text, 4, '0'), 'America/New_York' FROM generate_series(1, 10) g",
        cid, lid)
    return cid


async def test_recover_closes_own_open_attempts_and_releases_leases(store):
    cid = await store.run(_seed)
    mine = await store.run(claim_leads, cid, "node-a", 4, dt.timedelta(minutes=5), NOW)
    theirs = await store.run(claim_leads, cid, "node-b", 2, dt.timedelta(minutes=5), NOW)
    # node-a was calling two of its leads when it died; node-b is alive and calling one.
    for lead, node in ((mine[0], "node-a"), (mine[1], "node-a"), (theirs[0], "node-b")):
        await store.execute(
            "INSERT INTO attempt (lead_id, campaign_id, node, called_number, started_at) "
            "SELECT id, campaign_id, $2, phone, $3 FROM lead WHERE id = $1", lead, node, NOW)

    later = NOW + dt.timedelta(minutes=1)
    result = await store.run(recover_node, "node-a", later)
    # The two leads in calls are released by the close; the other two by the lease sweep.
    assert len(result["closed"]) == 2 and result["released"] == 2

    rows = await store.fetch("SELECT lead_id, node, outcome, ended_at FROM attempt ORDER BY id")
    assert [(r["node"], r["outcome"]) for r in rows] == [("node-a", "unknown"), ("node-a", "unknown"),
                                                         ("node-b", None)]
    assert rows[0]["ended_at"] == later
    leads = {r["id"]: r for r in await store.fetch("SELECT * FROM lead")}
    for lead in mine[:2]:
        assert leads[lead]["attempts"] == 1 and leads[lead]["last_outcome"] == "unknown"
        assert leads[lead]["next_attempt_at"] > later, "retry after the put-off, not at once"
    assert all(leads[lead]["lease_owner"] is None for lead in mine)
    assert all(leads[lead]["lease_owner"] == "node-b" for lead in theirs), "other nodes' leases untouched"
    # Running it again finds nothing: recovery is idempotent.
    again = await store.run(recover_node, "node-a", later)
    assert again == {"closed": [], "released": 0}


async def test_renewed_lease_is_not_claimable(store):
    cid = await store.run(_seed)
    held = await store.run(claim_leads, cid, "node-a", 10, dt.timedelta(seconds=60), NOW)
    assert await store.run(renew_leases, "node-a", held[:3], NOW + dt.timedelta(minutes=30)) == 3
    later = NOW + dt.timedelta(minutes=5)   # the original 60 s leases have expired
    other = await store.run(claim_leads, cid, "node-b", 10, dt.timedelta(seconds=60), later)
    assert sorted(other) == sorted(held[3:])
