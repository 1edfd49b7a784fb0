"""An operator's own calls (the operator page's list) are found through an index, not by reading
every attempt of every campaign: the attempt table grows by every call made."""

import pytest

from dialer.store import web

pytestmark = pytest.mark.db


async def _attempts(conn, count: int, operators: int) -> int:
    cid = await conn.fetchval("INSERT INTO campaign (name) VALUES ('c') RETURNING id")
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", cid)
    lead = await conn.fetchval("INSERT INTO lead (campaign_id, list_id, phone, timezone) "
                               "VALUES ($1, $2, '+12025550100', 'America/New_York') RETURNING id", cid, lid)
    ops = [await conn.fetchval("INSERT INTO operator (name) VALUES ($1) RETURNING id", f"op{i}")
           for i in range(operators)]
    # One call in three reaches an operator, as on a day of the simulator.
    await conn.execute(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at, outcome, operator_id)
           SELECT $1, $2, $3, '+12025550100', now() - g * interval '1 minute', now() - g * interval '1 minute',
                  'answered', CASE WHEN g % 3 = 0 THEN ($4::bigint[])[1 + g % $5] END
           FROM generate_series(1, $6) g""", lead, cid, lid, ops, operators, count)
    await conn.execute("ANALYZE attempt")
    return ops[0]


async def test_an_operators_calls_are_read_through_the_operator_index(store):
    operator = await store.run(_attempts, 30_000, 20)
    plan = "\n".join(r[0] for r in await store.fetch(
        "EXPLAIN SELECT a.id FROM attempt a WHERE a.operator_id = $1 ORDER BY a.started_at DESC, a.id DESC LIMIT 50",
        operator))
    assert "attempt_operator_idx" in plan and "Seq Scan" not in plan, plan
    calls = await store.run(web.operator_calls, operator, 50)
    assert len(calls) == 50
    assert [c["started_at"] for c in calls] == sorted((c["started_at"] for c in calls), reverse=True)
