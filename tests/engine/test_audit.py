"""`dialer audit` finds each kind of violation, and only those (real PostgreSQL)."""

import datetime as dt

from dialer.engine.audit import run_audit
from dialer.store.campaigns import create_campaign

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 3, 15, 0, tzinfo=UTC)   # Tuesday 10:00 in New York


async def _setup(conn, lockout=None, daily=None):
    c = await create_campaign(conn, {"name": "aud", "abandon_lockout": lockout,
                                     "max_daily_attempts_per_number": daily})
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", c["id"])
    return c["id"], lid


async def _lead(conn, cid, lid, phone, tz="America/New_York", region="NY"):
    return await conn.fetchval(
        "INSERT INTO lead (campaign_id, list_id, phone, timezone, region, country) "
        "VALUES ($1, $2, $3, $4, $5, 'US') RETURNING id", cid, lid, phone, tz, region)


async def _attempt(conn, cid, lead, phone, start, seconds, outcome, sip=200, mode="new", tz="America/New_York"):
    return await conn.fetchval(
        "INSERT INTO attempt (lead_id, campaign_id, called_number, started_at, ended_at, outcome, sip_status, "
        "call_mode, lead_timezone, lead_region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'NY') RETURNING id",
        lead, cid, phone, start, start + dt.timedelta(seconds=seconds), outcome, sip, mode, tz)


async def test_clean_campaign_has_no_violations(store):
    async def seed(conn):
        cid, lid = await _setup(conn)
        for i in range(20):
            phone = f"+1212555{i:04d}"
            lead = await _lead(conn, cid, lid, phone)
            await _attempt(conn, cid, lead, phone, T0 + dt.timedelta(minutes=i), 25, "no_answer", 487)
            await _attempt(conn, cid, lead, phone, T0 + dt.timedelta(hours=2, minutes=i), 90, "answered")
        return cid

    cid = await store.run(seed)
    report = await run_audit(store, cid)
    assert report.attempts == 40
    assert report.violations == []
    assert report.abandon_by_day == {"2026-03-03": {"live": 20, "abandoned": 0, "rate": 0.0}}


async def test_each_rule_is_found(store):
    async def seed(conn):
        cid, lid = await _setup(conn, lockout=dt.timedelta(hours=72), daily=3)
        ids = {}
        # DNC listed before the call.
        lead = await _lead(conn, cid, lid, "+12125550001")
        await conn.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12125550001', $1)", T0 - dt.timedelta(days=1))
        ids["dnc"] = await _attempt(conn, cid, lead, "+12125550001", T0, 30, "no_answer", 487)
        # DNC listed only after the call: fine.
        lead = await _lead(conn, cid, lid, "+12125550002")
        await conn.execute("INSERT INTO dnc (phone, campaign_id, added_at) VALUES ('+12125550002', $1, $2)",
                           cid, T0 + dt.timedelta(days=1))
        await _attempt(conn, cid, lead, "+12125550002", T0, 30, "no_answer", 487)
        # 07:30 in Los Angeles (15:30 UTC): outside 09:00-21:00 lead-local.
        lead = await _lead(conn, cid, lid, "+13105550003", tz="America/Los_Angeles", region="CA")
        ids["calling_hours"] = await _attempt(conn, cid, lead, "+13105550003", T0 + dt.timedelta(minutes=30), 30,
                                              "busy", 486, tz="America/Los_Angeles")
        # Seven attempts in mode "new" (max 6): the 7th is a violation. Spread over days (daily limit 3).
        lead = await _lead(conn, cid, lid, "+12125550004")
        for i in range(7):
            aid = await _attempt(conn, cid, lead, "+12125550004", T0 + dt.timedelta(days=i), 30, "busy", 486)
        ids["max_attempts"] = aid
        # Four calls to one number in one local day (limit 3).
        lead = await _lead(conn, cid, lid, "+12125550005")
        for i in range(4):
            aid = await _attempt(conn, cid, lead, "+12125550005", T0 + dt.timedelta(hours=i), 20, "busy", 486)
        ids["daily_limit"] = aid
        # We cancelled after 10 s: short ring. A carrier's own 480 after 10 s is not ours.
        lead = await _lead(conn, cid, lid, "+12125550006")
        ids["short_ring"] = await _attempt(conn, cid, lead, "+12125550006", T0, 10, "no_answer", 487)
        await _attempt(conn, cid, lead, "+12125550006", T0 + dt.timedelta(hours=1), 10, "no_answer", 480)
        # Abandoned, then redialed 1 h later inside the 72 h lock-out.
        lead = await _lead(conn, cid, lid, "+12125550007")
        await _attempt(conn, cid, lead, "+12125550007", T0, 5, "abandoned")
        ids["lockout"] = await _attempt(conn, cid, lead, "+12125550007", T0 + dt.timedelta(hours=1), 30,
                                        "answered")
        # Two overlapping attempts on one lead.
        lead = await _lead(conn, cid, lid, "+12125550008")
        await _attempt(conn, cid, lead, "+12125550008", T0, 60, "answered")
        ids["double_dial"] = await _attempt(conn, cid, lead, "+12125550008", T0 + dt.timedelta(seconds=20), 30,
                                            "answered")
        return cid, ids

    cid, ids = await store.run(seed)
    report = await run_audit(store, "aud")
    found = {}
    for v in report.violations:
        found.setdefault(v.rule, []).append(v.attempt_id)
    for rule, aid in ids.items():
        assert found.get(rule) == [aid], (rule, found.get(rule), report.violations)
    # 1 abandoned of 4 live answers on 2026-03-03 = 25 % > 3 %.
    assert found["abandon_rate"] == [None]
    assert set(found) == set(ids) | {"abandon_rate"}
    assert not report.ok


async def test_since_limits_the_attempts_but_not_attempt_numbering(store):
    async def seed(conn):
        cid, lid = await _setup(conn)
        lead = await _lead(conn, cid, lid, "+12125550009")
        for i in range(7):
            await _attempt(conn, cid, lead, "+12125550009", T0 + dt.timedelta(days=i), 30, "busy", 486)
        return cid

    cid = await store.run(seed)
    report = await run_audit(store, cid, T0 + dt.timedelta(days=6))
    assert report.attempts == 1
    assert [v.rule for v in report.violations] == ["max_attempts"]


def test_audit_cli_exit_status_and_json(cli):
    assert cli("campaign", "create", "quiet").code == 0
    r = cli("audit", "--campaign", "quiet", "--json")
    assert r.code == 0, r
    assert r.json()["ok"] is True and r.json()["attempts"] == 0
    r = cli("audit", "--campaign", "missing")
    assert r.code == 2 and "no campaign 'missing'" in r.err
    r = cli("audit", "--campaign", "quiet", "--since", "yesterday-ish")
    assert r.code == 2 and "--since" in r.err


def test_audit_cli_exit_1_on_violation(cli, database_url):
    import trio

    from dialer.store import Store

    assert cli("campaign", "create", "loud").code == 0

    async def seed():
        async with Store.open(database_url) as store:
            cid = await store.fetchval("SELECT id FROM campaign WHERE name = 'loud'")
            await store.execute(
                "INSERT INTO attempt (campaign_id, called_number, started_at, ended_at, outcome, sip_status) "
                "VALUES ($1, '+12125550100', $2, $3, 'no_answer', 487)", cid, T0, T0 + dt.timedelta(seconds=3))

    trio.run(seed)
    r = cli("audit", "--campaign", "loud")
    assert r.code == 1, r
    assert "short_ring" in r.out and "1 violations" in r.out
