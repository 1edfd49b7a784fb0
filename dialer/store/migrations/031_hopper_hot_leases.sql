-- Leases as HOT updates (issue 5, after measuring 030 on 1 M leads).
--
-- In 030 the hopper's partial indexes had `lease_owner IS NULL` in their
-- predicates, so every claim and every lease renewal was a non-HOT update that
-- wrote new entries into every index on lead (eight of them). Here no index
-- mentions lease_owner or lease_expires_at, not even in a predicate: taking or
-- renewing a lease is then a HOT update (no index entries, the new row version on
-- the same page), and the fillfactor leaves room on each page for those versions.
-- The price is that leased leads stay in the indexes; the hopper scans fresh leads
-- from a per-list cursor so it does not walk over them again and again, and an
-- expired lease simply counts as no lease (no sweeper, so no lease index).
ALTER TABLE lead SET (fillfactor = 80);
DROP INDEX IF EXISTS lead_lease_idx;
DROP INDEX IF EXISTS lead_hopper_fresh_idx;
DROP INDEX IF EXISTS lead_hopper_due_idx;
CREATE INDEX lead_hopper_fresh_idx ON lead (list_id, call_mode, id)
    WHERE NOT completed AND valid AND next_attempt_at IS NULL;
CREATE INDEX lead_hopper_due_idx ON lead (list_id, call_mode, next_attempt_at, id)
    WHERE NOT completed AND valid AND next_attempt_at IS NOT NULL;
