"""The lead_window_key table follows the leads: inserts (also COPY) and location edits."""

import datetime as dt

from dialer.compliance.keys import KeyWindows, make_key

import hopper_seed as seed


async def test_keys_follow_inserts_copy_and_edits(store):
    async def build(conn):
        cid = await seed.campaign(conn)
        lid = await seed.lead_list(conn, cid, "l")
        ids = await seed.leads(conn, cid, lid, 3, region="fl")
        await conn.copy_records_to_table(
            "lead", columns=["campaign_id", "list_id", "phone", "timezone", "timezones", "country"],
            records=[(cid, lid, "+12025550100", "America/Chicago", ["America/Chicago", "America/Denver"], "us")])
        await conn.execute("UPDATE lead SET timezone = 'Pacific/Honolulu' WHERE id = $1", ids[0])
        await conn.execute("UPDATE lead SET lease_owner = 'n' WHERE id = $1", ids[1])  # not a location edit
        return cid

    cid = await store.run(build)
    keys = {r["key"] for r in await store.fetch("SELECT key FROM lead_window_key WHERE campaign_id = $1", cid)}
    # A superset is fine (a key no lead has any more only makes the open list longer);
    # the seed inserted without a region, then set it.
    assert keys == {"||America/New_York", "|FL|America/New_York", "US||America/Chicago,America/Denver",
                    "|FL|Pacific/Honolulu"}
    # Python builds the same strings as SQL.
    rows = await store.fetch("SELECT timezone, timezones, region, country, "
                             "lead_window_key(timezone, timezones, region, country) AS k FROM lead")
    for row in rows:
        assert make_key(row["timezone"], row["timezones"], row["region"], row["country"]) == row["k"]


def test_a_key_with_an_unknown_zone_is_never_open():
    campaign = {"calling_start": dt.time(0), "calling_end": dt.time(0), "calling_days": [1, 2, 3, 4, 5, 6, 7],
                "holidays": [], "country": "US"}
    windows = KeyWindows(campaign, ["|TX|America/Chicago", "||Mars/Olympus"])
    at = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.timezone.utc)
    assert windows.open_at(at) == ["|TX|America/Chicago"]
    assert "Mars/Olympus" in windows.broken["||Mars/Olympus"]
