"""Bulk edit, property-based: for any file, the preview is what apply does, and only
editable leads whose values differ change."""

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from dialer.lifecycle.bulk_edit import EditRow
from dialer.lifecycle.rules import RuleError
from dialer.store import Store
from dialer.store.bulk_edit import apply_bulk_edit, plan_bulk_edit

from .dbhelpers import NOW, seed

_names = itertools.count()
STATUSES = ["CAUTION", "NEW", "NA", "SALE"]
VALUES = {"first_name": ["Ann1", "Bea", "Cy", ""], "email": ["a@example.com", "b@example.com", ""],
          "city": ["Austin", "Boston", ""]}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6),
    edits=st.lists(st.tuples(st.integers(0, 7), st.fixed_dictionaries(
        {}, optional={k: st.sampled_from(v) for k, v in VALUES.items()})), max_size=8),
    wrong_by=st.integers(-2, 2),
)
async def test_preview_is_apply(database_url, statuses, edits, wrong_by):
    async with Store.open(database_url) as store:
        from functools import partial

        s = await store.run(partial(seed, name=f"p{next(_names)}"), len(statuses))
        for lead, status in zip(s["leads"], statuses):
            await store.execute("UPDATE lead SET status = $2 WHERE id = $1", lead, status)
        rows, seen = [], set()
        for line, (index, values) in enumerate(edits, start=2):
            lead_id = s["leads"][index] if index < len(s["leads"]) else 10_000_000 + index
            if lead_id in seen or not values:
                continue
            seen.add(lead_id)
            rows.append(EditRow(line, lead_id, values))
        before = {r["id"]: dict(r) for r in await store.fetch("SELECT * FROM lead WHERE campaign_id = $1",
                                                               s["campaign_id"])}
        preview = await store.run(plan_bulk_edit, s["campaign_id"], rows)
        if wrong_by:
            try:
                await store.run(apply_bulk_edit, s["campaign_id"], rows, preview.count + wrong_by, "t", NOW)
            except RuleError:
                pass
            else:
                raise AssertionError("a wrong confirmation was accepted")
            after = {r["id"]: dict(r) for r in await store.fetch("SELECT * FROM lead WHERE campaign_id = $1",
                                                                  s["campaign_id"])}
            assert after == before
            return
        applied = await store.run(apply_bulk_edit, s["campaign_id"], rows, preview.count, "t", NOW)
        assert applied.summary() == preview.summary()
        after = {r["id"]: dict(r) for r in await store.fetch("SELECT * FROM lead WHERE campaign_id = $1",
                                                              s["campaign_id"])}
        changed = {i for i in before if before[i] != after[i]}
        assert changed == {lead_id for _, lead_id, _ in preview.changes}
        for lead_id in changed:
            assert before[lead_id]["status"] == "CAUTION"
        for _, lead_id, changes in preview.changes:
            for name, (_, new) in changes.items():
                assert after[lead_id][name] == new
