"""The engine's units of work against the real database: start and finish attempts in batches."""

import datetime as dt

import pytest

from dialer.lifecycle.rules import RuleError
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts

from .dbhelpers import NOW, lead_row, seed


async def _start(store, s, leads, at=NOW):
    return await store.run(start_attempts, [
        AttemptStart(lead_id=i, campaign_id=s["campaign_id"], list_id=s["list_id"], called_number="+12025550001",
                     started_at=at, node="n1", call_mode="new") for i in leads])


async def test_start_writes_rows_in_order_before_any_outcome(store):
    s = await store.run(seed, 3)
    await store.execute("UPDATE lead SET lease_owner = 'n1', lease_expires_at = $1", NOW + dt.timedelta(minutes=1))
    ids = await _start(store, s, s["leads"])
    rows = await store.fetch("SELECT id, lead_id, ended_at, outcome FROM attempt ORDER BY id")
    assert [(r["id"], r["lead_id"]) for r in rows] == list(zip(ids, s["leads"]))
    assert all(r["ended_at"] is None and r["outcome"] is None for r in rows)


async def test_finish_moves_each_lead_in_one_batch(store):
    s = await store.run(seed, 4)
    await store.execute("UPDATE lead SET lease_owner = 'n1', lease_expires_at = $1", NOW + dt.timedelta(minutes=1))
    ids = await _start(store, s, s["leads"])
    end = NOW + dt.timedelta(seconds=30)
    outcomes = ["no_answer", "busy", "answered", "invalid"]
    done = await store.run(finish_attempts, [
        AttemptEnd(i, o, end, sip_status=200 if o == "answered" else 486, answered_at=end if o == "answered" else None)
        for i, o in zip(ids, outcomes)])
    assert [f.next.status for f in done] == ["NA", "B", "ANSWERED", "INVALID"]
    rows = [await store.run(lead_row, i) for i in s["leads"]]
    assert [r["attempts"] for r in rows] == [1, 1, 1, 1]
    assert [r["status"] for r in rows] == ["NA", "B", "ANSWERED", "INVALID"]
    assert rows[0]["next_attempt_at"] == end + dt.timedelta(minutes=60)
    assert rows[1]["next_attempt_at"] == end + dt.timedelta(minutes=15)
    assert rows[3]["completed"] and not rows[0]["completed"]
    assert rows[2]["last_contacted_at"] == end and rows[0]["last_contacted_at"] is None
    assert all(r["lease_owner"] is None for r in rows)
    attempts = await store.fetch("SELECT outcome, ended_at FROM attempt ORDER BY id")
    assert [a["outcome"] for a in attempts] == outcomes and all(a["ended_at"] == end for a in attempts)


async def test_finish_lands_in_calling_hours_and_exhausts(store):
    s = await store.run(seed, 2)
    await store.execute("UPDATE lead SET attempts = 5, status = 'NA', call_mode = 'retry' WHERE id = $1",
                        s["leads"][1])
    late = dt.datetime(2026, 3, 3, 1, 45, tzinfo=dt.timezone.utc)  # 20:45 in New York
    ids = await _start(store, s, s["leads"], late)
    await store.run(finish_attempts, [AttemptEnd(i, "no_answer", late) for i in ids])
    first, second = [await store.run(lead_row, i) for i in s["leads"]]
    assert first["next_attempt_at"] == dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.timezone.utc)  # 09:00 EST
    assert (second["status"], second["completed"], second["attempts"], second["next_attempt_at"]) == \
        ("MAXED", True, 6, None)


async def test_finishing_twice_is_harmless_and_bad_input_writes_nothing(store):
    s = await store.run(seed, 2)
    ids = await _start(store, s, s["leads"])
    await store.run(finish_attempts, [AttemptEnd(ids[0], "busy", NOW)])
    again = await store.run(finish_attempts, [AttemptEnd(ids[0], "no_answer", NOW)])
    assert again[0].already_closed
    assert (await store.run(lead_row, s["leads"][0]))["attempts"] == 1
    with pytest.raises(RuleError, match="no attempt with id 999"):
        await store.run(finish_attempts, [AttemptEnd(ids[1], "busy", NOW), AttemptEnd(999, "busy", NOW)])
    with pytest.raises(RuleError, match="unknown outcome 'hung'"):
        await store.run(finish_attempts, [AttemptEnd(ids[1], "busy", NOW), AttemptEnd(ids[0], "hung", NOW)])
    # Nothing of the rejected batches was applied.
    assert (await store.fetchrow("SELECT ended_at FROM attempt WHERE id = $1", ids[1]))["ended_at"] is None
    assert (await store.run(lead_row, s["leads"][1]))["attempts"] == 0


async def test_two_attempts_on_one_lead_in_a_batch_both_count(store):
    s = await store.run(seed, 1)
    ids = await _start(store, s, s["leads"] * 2)
    await store.run(finish_attempts, [AttemptEnd(ids[0], "busy", NOW), AttemptEnd(ids[1], "no_answer", NOW)])
    row = await store.run(lead_row, s["leads"][0])
    assert (row["attempts"], row["last_outcome"]) == (2, "no_answer")


async def test_deleted_lead_still_closes_attempt(store):
    s = await store.run(seed, 1)
    ids = await _start(store, s, s["leads"])
    await store.execute("DELETE FROM lead")
    done = await store.run(finish_attempts, [AttemptEnd(ids[0], "failed", NOW)])
    assert done[0].lead_id is None
    assert await store.fetchval("SELECT outcome FROM attempt") == "failed"


async def test_a_wrap_that_arrives_before_the_batched_close_stands(store):
    from functools import partial

    from dialer.store.lead_ops import apply_wrap

    s = await store.run(seed, 2)
    ids = await _start(store, s, s["leads"])
    # The operator wrapped lead 0 as a sale, and a supervisor marked lead 1 DNC, before the engine's flush.
    await store.run(partial(apply_wrap, now=NOW, author="op"), s["leads"][0], "SALE")
    await store.run(partial(apply_wrap, now=NOW, author="sup"), s["leads"][1], "DNC")
    await store.run(finish_attempts, [AttemptEnd(ids[0], "answered", NOW, answered_at=NOW),
                                      AttemptEnd(ids[1], "no_answer", NOW)])
    first, second = [await store.run(lead_row, i) for i in s["leads"]]
    assert (first["status"], first["completed"], first["attempts"], first["last_contacted_at"]) == \
        ("SALE", True, 1, NOW)
    assert (second["status"], second["completed"], second["attempts"], second["last_outcome"]) == \
        ("DNC", True, 1, "no_answer")


async def test_dialing_a_due_callback_closes_it_and_uses_the_callback_put_off(store):
    from functools import partial

    from dialer.store.callbacks import due_callbacks
    from dialer.store.lead_ops import apply_wrap

    s = await store.run(seed, 1)
    due = NOW + dt.timedelta(hours=2)
    await store.run(partial(apply_wrap, now=NOW, author="op", callback_at=due), s["leads"][0], "CALLBK")
    assert len(await store.run(due_callbacks, s["campaign_id"], due, None)) == 1
    ids = await _start(store, s, s["leads"], due)
    await store.execute("UPDATE attempt SET call_mode = 'callback'")
    await store.run(finish_attempts, [AttemptEnd(ids[0], "no_answer", due + dt.timedelta(seconds=30))])
    row = await store.run(lead_row, s["leads"][0])
    assert row["next_attempt_at"] == due + dt.timedelta(seconds=30, minutes=30)   # callback mode: 30 min
    assert (row["status"], row["call_mode"]) == ("NA", "retry")
    assert await store.run(due_callbacks, s["campaign_id"], due + dt.timedelta(hours=1), None) == []
    assert await store.fetchval("SELECT done_at FROM callback") == due + dt.timedelta(seconds=30)


async def test_a_lead_with_an_unknown_zone_does_not_fail_the_batch(store):
    s = await store.run(seed, 2)
    await store.execute("UPDATE lead SET timezone = 'Mars/Olympus' WHERE id = $1", s["leads"][0])
    ids = await _start(store, s, s["leads"])
    done = await store.run(finish_attempts, [AttemptEnd(i, "busy", NOW) for i in ids])
    assert [f.next.next_attempt_at for f in done] == [NOW + dt.timedelta(minutes=15)] * 2
