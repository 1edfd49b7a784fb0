"""Every reason a lead must not be dialed, seen by the hopper and by `hopper show`."""

import datetime as dt

import trio

from dialer.clock import Clock
from dialer.queue.hopper import Hopper
from dialer.store import Store

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

HOUR = dt.timedelta(hours=1)
EXPECTED = {"completed": 1, "status_not_auto_dial": 1, "max_attempts": 1, "dnc": 2, "abandon_lockout": 1,
            "daily_limit": 1, "waiting_for_retry": 1, "outside_hours": 2, "leased": 1, "list_not_to_dial": 2}


async def build(conn):
    cid = await seed.campaign(conn, "show", abandon_lockout=dt.timedelta(hours=72), max_daily_attempts_per_number=2)
    main = await seed.lead_list(conn, cid, "main")
    off = await seed.lead_list(conn, cid, "off", to_dial=False)
    await seed.leads(conn, cid, off, 2)
    ok = await seed.leads(conn, cid, main, 3, prefix="+1303555")

    async def one(**columns):
        n = await conn.fetchval("SELECT count(*) FROM lead")
        return (await seed.leads(conn, cid, main, 1, prefix=f"+1404{n:03d}", **columns))[0]

    await one(completed=True)
    await one(status="SALE")
    await one(attempts=6)
    dnc = await one()
    camp_dnc = await one()
    await conn.execute("INSERT INTO dnc (phone) SELECT phone FROM lead WHERE id = $1", dnc)
    await conn.execute("INSERT INTO dnc (phone, campaign_id) SELECT phone, $2 FROM lead WHERE id = $1", camp_dnc, cid)
    for lead_id, outcome, count in ((await one(), "abandoned", 1), (await one(), "no_answer", 2)):
        for _ in range(count):
            await conn.execute(
                "INSERT INTO attempt (lead_id, campaign_id, called_number, started_at, outcome) "
                "SELECT id, campaign_id, phone, $2, $3 FROM lead WHERE id = $1",
                lead_id, MONDAY_10_NY - HOUR, outcome)
    await one(next_attempt_at=MONDAY_10_NY + HOUR)
    await one(timezone="Pacific/Honolulu")  # 05:00 there
    await one(timezones=["America/New_York", "Pacific/Honolulu"])
    await one(lease_owner="elsewhere", lease_expires_at=MONDAY_10_NY + HOUR)
    return cid, ok


async def test_the_hopper_dials_only_callable_leads(store):
    cid, ok = await store.run(build)
    hopper = Hopper(store, Clock(MONDAY_10_NY), cid, "n")
    got = await hopper.take(100)
    assert [lead.id for lead in got] == ok


async def test_an_old_abandon_and_yesterdays_attempts_do_not_block(store):
    cid, ok = await store.run(build)
    later = MONDAY_10_NY + dt.timedelta(days=3, hours=1)  # lock-out over, a new local day
    await store.execute("UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL")
    hopper = Hopper(store, Clock(later), cid, "n")
    got = {lead.id for lead in await hopper.take(100)}
    # callable + lock-out ended + daily limit reset + retry due + leased-elsewhere freed
    assert len(got) == 3 + 4


def test_hopper_show_counts_reasons(cli, database_url):
    async def seed_it():
        async with Store.open(database_url) as store:
            return await store.run(build)

    cid, ok = trio.run(seed_it)
    result = cli("hopper", "show", "--campaign", "show", "--at", "2026-03-02T15:00:00Z", "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["callable"] == 3
    assert [n["id"] for n in report["next"]] == ok
    assert report["next"][0]["list"] == "main" and report["next"][0]["phone"].startswith("+1303555")
    assert report["next"][0]["local_time"] == "2026-03-02T10:00:00-05:00"
    assert report["not_callable"] == EXPECTED
    text = cli("hopper", "show", "--campaign", str(cid), "--at", "2026-03-02T15:00:00", "--limit", "2")
    assert text.code == 0 and "3 callable" in text.out and "outside_hours" in text.out
    # 23:00 in New York is 18:00 in Honolulu: only the Honolulu lead may be called (not
    # the one that may be in either zone).
    late = cli("hopper", "show", "--campaign", "show", "--at", "2026-03-03T04:00:00Z", "--json").json()
    assert late["callable"] == 1
    assert [n["local_time"] for n in late["next"]] == ["2026-03-02T18:00:00-10:00"]


def test_hopper_show_bad_input(cli):
    bad = cli("hopper", "show", "--campaign", "nope", "--json")
    assert bad.code == 2 and "nope" in bad.err
    bad = cli("hopper", "show", "--campaign", "x", "--at", "yesterday")
    assert bad.code == 2 and "--at" in bad.err
