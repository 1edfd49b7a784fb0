-- An index no query uses, dropped (measured on `bench/engine_day.py`'s day: 0 scans).
--
-- `lead_dialable_idx` (list_id, priority DESC, next_attempt_at, id) was the hopper's candidate
-- index before 030/031: claims now read the partial `lead_hopper_fresh_idx` and
-- `lead_hopper_due_idx`, and nothing else orders a list's leads by priority (`leases.claim_leads`
-- filters by campaign, not list). It mentions `completed`, `priority` and `next_attempt_at`, so
-- every move of a lead after a call or a wrap (a non-HOT update: the hopper indexes change too)
-- and every imported lead still wrote an entry into it: one index insert and WAL record of eight
-- on each, and pages of shared buffers on a big lead table, for nothing.
DROP INDEX IF EXISTS lead_dialable_idx;
