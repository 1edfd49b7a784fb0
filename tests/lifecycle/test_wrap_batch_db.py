"""apply_wraps (many wraps in a few statements) stores exactly what apply_wrap one by one does."""

import datetime as dt
from functools import partial

import asyncpg
import pytest

from dialer.store.attempts import AttemptStart, start_attempts
from dialer.store.campaigns import NotFound
from dialer.store.wrap_batch import apply_wrap_kw, apply_wraps

from .dbhelpers import NOW, seed

H = dt.timedelta(hours=1)
CODES = ["NI", "SALE", "CALLBK", "DNC", "NA", "CALLBK"]


async def _campaign(store, name):
    s = await store.run(partial(seed, name=name), len(CODES))
    ids = await store.run(start_attempts, [AttemptStart(lead_id=lead, campaign_id=s["campaign_id"],
                                                        called_number="+12025550100", started_at=NOW)
                                           for lead in s["leads"]])
    # An open callback on the first CALLBK lead: the new one must replace it.
    await store.execute("INSERT INTO callback (lead_id, campaign_id, due_at, created_at) VALUES ($1, $2, $3, $4)",
                        s["leads"][2], s["campaign_id"], NOW + 5 * H, NOW)
    wraps = [{"lead_id": lead, "code": code, "now": NOW + dt.timedelta(minutes=i), "author": f"{name}-alice",
              "operator_id": s["operators"][i % 2], "note": None if i % 3 else f"note {i}",
              "callback_at": (NOW + 2 * H) if code == "CALLBK" else None, "attempt_id": attempt}
             for i, (lead, code, attempt) in enumerate(zip(s["leads"], CODES, ids))]
    return s, wraps


async def _state(store, s):
    q = {
        "lead": "SELECT status, call_mode, completed, next_attempt_at, wrap_code, contact_status, updated_at "
                "FROM lead WHERE campaign_id = $1 ORDER BY id",
        "attempt": "SELECT wrap_code, operator_id, notes FROM attempt WHERE campaign_id = $1 ORDER BY id",
        "note": "SELECT n.author, n.kind, n.body, n.created_at FROM lead_note n JOIN lead l ON l.id = n.lead_id "
                "WHERE l.campaign_id = $1 ORDER BY n.id",
        "callback": "SELECT due_at, operator_id, note, created_at, done_at FROM callback WHERE campaign_id = $1 "
                    "ORDER BY id",
        "dnc": "SELECT source, added_at FROM dnc WHERE campaign_id = $1 ORDER BY source",
    }
    out = {k: [tuple(r) for r in await store.fetch(sql, s["campaign_id"])] for k, sql in q.items()}
    # Names carry the campaign's name; compare them without it.
    out["note"] = [(a.split("-", 1)[1],) + rest for a, *rest in out["note"] for rest in [tuple(rest)]]
    out["dnc"] = [(src.split(" lead ")[0], at) for src, at in out["dnc"]]
    out["attempt"] = [(code, s["operators"].index(op), notes) for code, op, notes in out["attempt"]]
    return out


async def test_batch_stores_what_one_by_one_stores(store):
    one, one_wraps = await _campaign(store, "one")
    many, many_wraps = await _campaign(store, "many")
    singles = [await store.run(apply_wrap_kw, w) for w in one_wraps]
    batch = await store.run(apply_wraps, [(w,) for w in many_wraps])
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("lead_id", "attempt_id", "callback_id")} for r in rs]
    assert strip(batch) == strip(singles)
    assert [r["callback_id"] is not None for r in batch] == [c == "CALLBK" for c in CODES]
    a, b = await _state(store, one), await _state(store, many)
    assert b == a
    assert len(a["callback"]) == 3 and a["callback"][0][4] is not None     # the old one closed
    assert len(a["dnc"]) == 1 and len(a["note"]) == len(CODES)


async def test_batch_refuses_what_apply_wrap_refuses_and_writes_nothing(store):
    s, wraps = await _campaign(store, "bad")
    wraps[3] = dict(wraps[3], attempt_id=wraps[4]["attempt_id"])     # another lead's attempt
    with pytest.raises(NotFound, match="no attempt"):
        await store.run(apply_wraps, [(w,) for w in wraps])
    with pytest.raises(ValueError, match="twice"):
        await store.run(apply_wraps, [(wraps[0],), (wraps[0],)])
    assert await store.fetchval("SELECT count(*) FROM lead_note") == 0
    assert await store.fetchval("SELECT count(*) FROM lead WHERE wrap_code IS NOT NULL") == 0


async def test_endings_and_wraps_of_one_transaction_read_the_rules_once(store, database_url, monkeypatch):
    """A journal flush's endings and the wraps behind them decide with the same rules, read
    once in their transaction; the next transaction reads them anew (and sees a change)."""
    import dialer.store.rules as rules_module
    from dialer.store.attempts import AttemptEnd, finish_attempts
    from dialer.store.rules import TRANSACTION_ID, load_rules_once

    s, wraps = await _campaign(store, "once")
    reads = []
    real = rules_module.load_rules

    async def counted(conn, ids):
        reads.append(sorted(ids))
        return await real(conn, ids)

    monkeypatch.setattr(rules_module, "load_rules", counted)

    async def flush(conn):
        await finish_attempts(conn, [AttemptEnd(w["attempt_id"], "answered", NOW) for w in wraps])
        async with conn.transaction():        # the journal's savepoint around the wraps
            return await apply_wraps(conn, [(w,) for w in wraps])

    assert len(await store.run(flush)) == len(wraps)
    assert reads == [[s["campaign_id"]]]

    async def name_twice(conn, rename: bool):
        first = await load_rules_once(conn, await conn.fetchval(f"SELECT {TRANSACTION_ID}"), [s["campaign_id"]])
        if rename:      # committed by another connection while this transaction runs
            other = await asyncpg.connect(database_url)
            try:
                await other.execute("UPDATE campaign SET name = 'renamed' WHERE id = $1", s["campaign_id"])
            finally:
                await other.close()
        again = await load_rules_once(conn, await conn.fetchval(f"SELECT {TRANSACTION_ID}"), [s["campaign_id"]])
        return first[s["campaign_id"]].name, again[s["campaign_id"]].name

    assert await store.run(name_twice, True) == ("once", "once")
    assert await store.run(name_twice, False) == ("renamed", "renamed")
    assert len(reads) == 3
