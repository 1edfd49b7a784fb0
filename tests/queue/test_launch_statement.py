"""The launch round's one statement (`dialer.store.launch.recheck_and_start`) against a real
PostgreSQL: it re-checks exactly as the hopper's `recheck` does, stores attempt rows only for
the leads that pass, and hands back the leases of the others, atomically and without a
transaction around it."""

import dataclasses
import datetime as dt

import pytest

from dialer.store.attempts import AttemptStart
from dialer.store.hopper import Check
from dialer.store.launch import recheck_and_start

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

NOW = MONDAY_10_NY
LEASED_UNTIL = NOW + dt.timedelta(minutes=2)


async def _five_leased_leads(conn, owner="n1"):
    cid = await seed.campaign(conn)
    lid = await seed.lead_list(conn, cid, "l")
    ids = await seed.leads(conn, cid, lid, 5)
    # Each lead's number is the one `_start` dials it at: the re-check wants them the same.
    await conn.execute("UPDATE lead SET lease_owner = $1, lease_expires_at = $2, phone = '+1202555' || lpad(id::text, 4, '0') "
                       "WHERE id = ANY($3::bigint[])", owner, LEASED_UNTIL, ids)
    return cid, lid, ids


def _start(cid, lid, lead_id):
    return AttemptStart(lead_id=lead_id, campaign_id=cid, called_number=f"+1202555{lead_id:04d}",
                        started_at=NOW, list_id=lid, node="n1")


async def _state(store, ids):
    rows = await store.fetch("SELECT id, lease_owner, last_attempt_at FROM lead WHERE id = ANY($1::bigint[])", ids)
    attempts = await store.fetch("SELECT id, lead_id, started_at, node FROM attempt WHERE lead_id = ANY($1::bigint[])",
                                 ids)
    return {r["id"]: r for r in rows}, {a["lead_id"]: a for a in attempts}


async def test_only_leads_that_pass_get_attempts_and_the_others_lose_their_lease(store):
    cid, lid, ids = await store.run(_five_leased_leads)
    dnc_lead, other_nodes, expired, held, good = ids
    await store.execute("INSERT INTO dnc (phone, campaign_id) SELECT phone, NULL FROM lead WHERE id = $1", dnc_lead)
    await store.execute("UPDATE lead SET lease_owner = 'n2' WHERE id = $1", other_nodes)
    await store.execute("UPDATE lead SET lease_expires_at = $2 WHERE id = $1", expired, NOW - dt.timedelta(seconds=1))
    starts = [_start(cid, lid, i) for i in (dnc_lead, other_nodes, expired, good)]

    passed = await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids, [held], starts)

    assert set(passed) == {held, good}, "held back but still ours and callable: it passes, without an attempt"
    assert passed[held] is None and passed[good] is not None
    leads, attempts = await _state(store, ids)
    assert set(attempts) == {good} and attempts[good]["id"] == passed[good]
    assert attempts[good]["started_at"] == NOW and attempts[good]["node"] == "n1"
    assert leads[good]["last_attempt_at"] == NOW and leads[good]["lease_owner"] == "n1"
    assert leads[dnc_lead]["lease_owner"] is None and leads[expired]["lease_owner"] is None
    assert leads[held]["lease_owner"] is None
    assert leads[other_nodes]["lease_owner"] == "n2", "another node's lease is not ours to hand back"


async def test_a_campaign_dnc_entry_counts_only_for_its_campaign(store):
    cid, lid, ids = await store.run(_five_leased_leads)
    other = await store.run(seed.campaign, "other")
    await store.execute("INSERT INTO dnc (phone, campaign_id) SELECT phone, $2 FROM lead WHERE id = $1", ids[0], other)
    await store.execute("INSERT INTO dnc (phone, campaign_id) SELECT phone, $2 FROM lead WHERE id = $1", ids[1], cid)
    passed = await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:2], [],
                                        [_start(cid, lid, i) for i in ids[:2]])
    assert set(passed) == {ids[0]}


async def test_a_failing_statement_writes_nothing(store):
    cid, lid, ids = await store.run(_five_leased_leads)
    bad = AttemptStart(lead_id=ids[1], campaign_id=cid, called_number=None, started_at=NOW, list_id=lid, node="n1")
    with pytest.raises(Exception, match="not-null|violates"):
        await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:2], [ids[2]],
                                   [_start(cid, lid, ids[0]), bad])
    leads, attempts = await _state(store, ids)
    assert attempts == {}
    assert all(leads[i]["lease_owner"] == "n1" for i in ids), "no lease handed back either"
    assert all(leads[i]["last_attempt_at"] is None for i in ids)


async def test_starts_must_be_for_rechecked_leads_that_are_not_handed_back(store):
    cid, lid, ids = await store.run(_five_leased_leads)
    with pytest.raises(ValueError, match="not re-checked or handed back"):
        await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:1], [ids[0]], [_start(cid, lid, ids[0])])
    with pytest.raises(ValueError, match="not re-checked"):
        await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:1], [], [_start(cid, lid, ids[3])])


async def test_the_starts_of_a_round_share_campaign_node_trunk_caller_and_time(store):
    # The statement binds those once for the whole round: a start that differs is refused, not
    # stored with the first start's values.
    cid, lid, ids = await store.run(_five_leased_leads)
    for other in ({"node": "n2"}, {"started_at": NOW + dt.timedelta(seconds=1)}, {"caller_number": "+1999"},
                  {"trunk": "t2"}, {"campaign_id": cid + 1}):
        starts = [_start(cid, lid, ids[0]), dataclasses.replace(_start(cid, lid, ids[1]), **other)]
        with pytest.raises(ValueError, match="must share"):
            await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:2], [], starts)
    leads, attempts = await _state(store, ids)
    assert attempts == {} and all(leads[i]["lease_owner"] == "n1" for i in ids)


async def test_each_start_keeps_its_own_per_call_columns(store):
    cid, lid, ids = await store.run(_five_leased_leads)
    other_list = await store.run(seed.lead_list, cid, "other")
    starts = [dataclasses.replace(_start(cid, lid, ids[0]), call_id="c0", lead_timezone="America/New_York",
                                  lead_region="NY", call_mode="new", caller_number="+1800", trunk="t1"),
              dataclasses.replace(_start(cid, other_list, ids[1]), call_id="c1", lead_timezone="America/Denver",
                                  lead_region="CO", call_mode="retry", caller_number="+1800", trunk="t1")]
    passed = await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:2], [], starts)
    rows = {r["lead_id"]: dict(r) for r in await store.fetch(
        "SELECT id, lead_id, campaign_id, list_id, node, trunk, call_id, called_number, caller_number, lead_timezone,"
        " lead_region, call_mode, started_at FROM attempt WHERE lead_id = ANY($1::bigint[])", ids[:2])}
    for s in starts:
        assert rows[s.lead_id] == {"id": passed[s.lead_id], **dataclasses.asdict(s)}


async def _attempt(store, cid, phone, outcome, started_at):
    await store.execute(
        "INSERT INTO attempt (lead_id, campaign_id, called_number, started_at, ended_at, outcome) "
        "SELECT id, $1, $2, $3, $3, $4 FROM lead WHERE phone = $2 LIMIT 1", cid, phone, started_at, outcome)


async def test_the_numbers_lock_out_and_daily_limit_are_checked_at_dial_time(store):
    """Another lead with the same number was dialed while this one waited in the hopper: its
    claim saw nothing, its dial must see the abandoned call (72 h lock-out) and the day's count."""
    cid, lid, ids = await store.run(_five_leased_leads)
    phones = {r["id"]: r["phone"] for r in await store.fetch(
        "SELECT id, phone FROM lead WHERE id = ANY($1::bigint[])", ids)}
    abandoned, limited, old_abandon, free, other_limit = ids
    hour = dt.timedelta(hours=1)
    await _attempt(store, cid, phones[abandoned], "abandoned", NOW - 71 * hour)
    await _attempt(store, cid, phones[old_abandon], "abandoned", NOW - 73 * hour)
    for minutes in (10, 20, 30):    # three today (10:00 in New York: since 00:00 local)
        await _attempt(store, cid, phones[limited], "no_answer", NOW - dt.timedelta(minutes=minutes))
        await _attempt(store, cid, phones[other_limit], "no_answer", NOW - dt.timedelta(hours=11, minutes=minutes))
    check = Check(cid, "n1", NOW, abandon_lockout=72 * hour, max_daily_per_number=3)
    starts = [_start(cid, lid, i) for i in ids]
    passed = await store.run_statements(recheck_and_start, check, ids, [], starts)
    # other_limit's three attempts were yesterday, local time (before 00:00 New York).
    assert set(passed) == {old_abandon, free, other_limit}
    leads, attempts = await _state(store, ids)
    assert leads[abandoned]["lease_owner"] is None and leads[limited]["lease_owner"] is None
    # With the rules off, the same numbers pass.
    await store.execute("UPDATE lead SET lease_owner = 'n1', lease_expires_at = $2 WHERE id = ANY($1::bigint[])",
                        [abandoned, limited], LEASED_UNTIL)
    again = await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), [abandoned, limited], [],
                                       [_start(cid, lid, abandoned), _start(cid, lid, limited)])
    assert set(again) == {abandoned, limited}


async def test_per_call_text_columns_arrive_as_they_were_whatever_they_hold(store):
    # The per-call columns go to PostgreSQL as array literals (text): quotes, backslashes, braces,
    # commas, spaces, the word NULL and None must each arrive as themselves.
    cid, lid, ids = await store.run(_five_leased_leads)
    awkward = ['say "hi"', "back\\slash", "{braces},commas", " NULL", "NULL", "", "é ü"]
    starts = [dataclasses.replace(_start(cid, lid, ids[0]), call_id=awkward[0], lead_timezone=awkward[1],
                                  lead_region=awkward[2], call_mode=awkward[3]),
              dataclasses.replace(_start(cid, lid, ids[1]), call_id=awkward[4], lead_timezone=awkward[5],
                                  lead_region=None, call_mode=awkward[6]),
              dataclasses.replace(_start(cid, lid, ids[2]), called_number='+1 "202" \\ 555')]
    # The number dialed must be the lead's (the re-check compares them, through a literal too).
    await store.execute("UPDATE lead SET phone = $2 WHERE id = $1", ids[2], starts[2].called_number)
    passed = await store.run_statements(recheck_and_start, Check(cid, "n1", NOW), ids[:4], [ids[3]], starts)
    assert set(passed) == set(ids[:4]) and passed[ids[3]] is None
    rows = {r["lead_id"]: dict(r) for r in await store.fetch(
        "SELECT id, lead_id, campaign_id, list_id, node, trunk, call_id, called_number, caller_number, lead_timezone,"
        " lead_region, call_mode, started_at FROM attempt WHERE lead_id = ANY($1::bigint[])", ids)}
    assert set(rows) == set(ids[:3])
    for s in starts:
        assert rows[s.lead_id] == {"id": passed[s.lead_id], **dataclasses.asdict(s)}
    leads, _ = await _state(store, ids)
    assert leads[ids[3]]["lease_owner"] is None, "handed back through the release literal"
