"""Wrap codes, callbacks and validation against the real database."""

import datetime as dt
from functools import partial

import pytest

from dialer.lifecycle.callbacks import may_take
from dialer.lifecycle.rules import RuleError
from dialer.store.callbacks import due_callbacks
from dialer.store.campaigns import NotFound
from dialer.store.lead_ops import apply_wrap, notes_joined, show_lead
from dialer.store.validation import set_contact_status, validation_listing

from .dbhelpers import NOW, lead_row, seed

H = dt.timedelta(hours=1)


async def wrap(store, lead, code, **kw):
    # Store.run passes positional arguments only; keyword options ride in a partial.
    return await store.run(partial(apply_wrap, **kw), lead, code)


async def test_completing_wrap_code(store):
    s = await store.run(seed, 1)
    lead = s["leads"][0]
    out = await wrap(store, lead, "SALE", now=NOW, author="alice", note="bought two")
    assert out["completed"] and out["status"] == "SALE"
    row = await store.run(lead_row, lead)
    assert (row["status"], row["completed"], row["wrap_code"], row["next_attempt_at"]) == ("SALE", True, "SALE", None)
    shown = await store.run(show_lead, lead)
    assert shown["notes"][0]["author"] == "alice" and "bought two" in shown["notes_joined"]


async def test_dnc_wrap_adds_number_to_campaign_list(store):
    s = await store.run(seed, 1)
    lead = s["leads"][0]
    await wrap(store, lead, "DNC", now=NOW, author="alice")
    phone = (await store.run(lead_row, lead))["phone"]
    assert await store.fetchval("SELECT campaign_id FROM dnc WHERE phone = $1", phone) == s["campaign_id"]
    assert (await store.run(lead_row, lead))["completed"]


async def test_retry_after_wrap_lands_in_hours(store):
    s = await store.run(seed, 1)
    late = dt.datetime(2026, 3, 3, 1, 30, tzinfo=dt.timezone.utc)   # 20:30 New York
    out = await wrap(store, s["leads"][0], "NA", now=late, author="alice")
    assert out["next_attempt_at"] == dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.timezone.utc)
    assert not out["completed"]


async def test_needs_validation_only_when_campaign_validates(store):
    plain = await store.run(partial(seed, name="plain"), 1)
    checked = await store.run(partial(seed, name="checked", validation=True), 1)
    a = await wrap(store, plain["leads"][0], "LEAD", now=NOW, author="alice")
    b = await wrap(store, checked["leads"][0], "LEAD", now=NOW, author="alice")
    assert a["contact_status"] is None
    assert b["contact_status"] == "unconfirmed" and b["completed"]
    listing = await store.run(validation_listing, checked["campaign_id"])
    assert [r["id"] for r in listing] == checked["leads"] and listing[0]["phone"].startswith("+1")


async def test_validation_flow_keeps_notes_and_rejected_leave_listing(store):
    s = await store.run(partial(seed, validation=True), 2)
    for lead in s["leads"]:
        await wrap(store, lead, "LEAD", now=NOW, author="alice")
    first, second = s["leads"]
    await store.run(set_contact_status, first, "confirmed", "val1", NOW + H, "called back, all correct")
    await store.run(set_contact_status, second, "rejected", "val1", NOW + H, "fake name")
    listing = await store.run(validation_listing, s["campaign_id"])
    assert [r["id"] for r in listing] == [first]
    row = await store.run(lead_row, second)
    assert row["contact_status"] == "rejected" and not row["valid"]
    # Back to unconfirmed: flagged valid again and back in the listing.
    await store.run(set_contact_status, second, "unconfirmed", "val2", NOW + 2 * H, "second look")
    assert [r["id"] for r in await store.run(validation_listing, s["campaign_id"])] == [first, second]
    shown = await store.run(show_lead, second)
    assert [(n["author"], n["kind"]) for n in shown["notes"]] == \
        [("alice", "wrap"), ("val1", "validation"), ("val2", "validation")]
    assert shown["notes_joined"].count("; ") == 2 and "fake name" in shown["notes_joined"]
    joined = await store.run(notes_joined, [first, second])
    assert joined[second] == shown["notes_joined"] and joined[first].startswith("wrap LEAD; validation")


async def test_validation_refuses_leads_not_held_and_bad_statuses(store):
    s = await store.run(partial(seed, validation=True), 1)
    with pytest.raises(RuleError, match="not held for validation"):
        await store.run(set_contact_status, s["leads"][0], "confirmed", "v", NOW)
    await wrap(store, s["leads"][0], "LEAD", now=NOW, author="alice")
    with pytest.raises(RuleError, match="'approved' is not one of"):
        await store.run(set_contact_status, s["leads"][0], "approved", "v", NOW)
    with pytest.raises(NotFound, match="no lead with id 424242"):
        await store.run(set_contact_status, 424242, "confirmed", "v", NOW)
    assert await store.fetchval("SELECT count(*) FROM lead_note WHERE kind = 'validation'") == 0


async def test_owned_callback_grace_anyone(store):
    s = await store.run(seed, 1)
    await store.execute("UPDATE campaign SET callback_grace = interval '15 minutes', callback_grace_action = 'anyone'")
    alice, bob = s["operators"]
    due = NOW + H
    await wrap(store, s["leads"][0], "CALLBK", now=NOW, author="alice", callback_at=due,
                    callback_owner=alice)
    row = await store.run(lead_row, s["leads"][0])
    assert (row["status"], row["call_mode"], row["next_attempt_at"]) == ("CALLBK", "callback", due)
    cid = s["campaign_id"]
    assert await store.run(due_callbacks, cid, due - dt.timedelta(seconds=1), alice) == []
    assert len(await store.run(due_callbacks, cid, due, alice)) == 1
    assert await store.run(due_callbacks, cid, due, bob) == []
    assert len(await store.run(due_callbacks, cid, due + dt.timedelta(minutes=15), bob)) == 1


async def test_owned_callback_grace_wait(store):
    s = await store.run(seed, 1)
    await store.execute("UPDATE campaign SET callback_grace_action = 'wait'")
    alice, bob = s["operators"]
    await wrap(store, s["leads"][0], "CALLBK", now=NOW, author="alice", callback_at=NOW + H,
                    callback_owner=alice)
    assert await store.run(due_callbacks, s["campaign_id"], NOW + 10 * H, bob) == []
    assert len(await store.run(due_callbacks, s["campaign_id"], NOW + 10 * H, alice)) == 1


async def test_campaign_wide_callback_and_local_time(store):
    s = await store.run(seed, 1)
    # A naive time is the lead's local time: 14:00 New York = 19:00 UTC in March before DST.
    out = await wrap(store, s["leads"][0], "CALLBK", now=NOW, author="alice",
                          callback_at=dt.datetime(2026, 3, 2, 14, 0))
    assert out["callback_at"] == dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.timezone.utc)
    taken = await store.run(due_callbacks, s["campaign_id"], out["callback_at"], s["operators"][1])
    assert [c["lead_id"] for c in taken] == s["leads"]


def test_may_take_rule():
    due = NOW
    g = dt.timedelta(minutes=15)
    assert not may_take(None, 1, due, due - dt.timedelta(seconds=1), g, "anyone")
    assert may_take(None, 1, due, due, g, "anyone")
    assert may_take(2, 2, due, due, g, "wait")
    assert not may_take(2, 1, due, due + g - dt.timedelta(seconds=1), g, "anyone")
    assert may_take(2, 1, due, due + g, g, "anyone")
    assert not may_take(2, 1, due, due + 100 * g, g, "wait")


async def test_bad_wraps_change_nothing(store):
    s = await store.run(seed, 1)
    lead = s["leads"][0]
    before = await store.run(lead_row, lead)
    with pytest.raises(RuleError, match="unknown wrap code 'NOPE'"):
        await wrap(store, lead, "NOPE", now=NOW, author="alice")
    with pytest.raises(RuleError, match="in the past"):
        await wrap(store, lead, "CALLBK", now=NOW, author="alice", callback_at=NOW - H)
    with pytest.raises(RuleError, match="schedules a callback"):
        await wrap(store, lead, "CALLBK", now=NOW, author="alice")
    with pytest.raises(NotFound, match="no lead with id 999999"):
        await wrap(store, 999999, "SALE", now=NOW, author="alice")
    with pytest.raises(NotFound, match="callback owner: no operator"):
        await wrap(store, lead, "CALLBK", now=NOW, author="a", callback_at=NOW + H, callback_owner=9999)
    assert await store.run(lead_row, lead) == before
    assert await store.fetchval("SELECT count(*) FROM lead_note") == 0
    assert await store.fetchval("SELECT count(*) FROM callback") == 0
