"""The lead table's indexes: each one is paid for by every non-HOT update of a lead (every move
after a call or a wrap) and every import, so the schema keeps only those a query uses."""


async def test_lead_indexes_are_the_used_ones(store):
    names = {r["indexname"] for r in await store.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'lead'")}
    # The hopper's candidate index before migrations 030/031: no query reads it any more.
    assert "lead_dialable_idx" not in names
    assert names == {"lead_pkey", "lead_list_idx", "lead_campaign_idx", "lead_phone_idx", "lead_customer_key_idx",
                     "lead_hopper_fresh_idx", "lead_hopper_due_idx"}
