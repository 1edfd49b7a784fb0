-- Bulk imports (issue 3) without the per-row foreign-key checks, with the
-- hopper's triggers still firing.
--
-- An import inserts up to millions of leads that all carry one campaign_id and
-- one list_id, which it has checked and locked FOR KEY SHARE (what the checks
-- themselves would take). It then sets session_replication_role = replica for
-- its INSERT so the two per-row RI triggers (~60 % of the insert's CPU) do not
-- repeat that check a million times. Replica mode silences every ordinary
-- trigger too; the hopper's lead_window_key triggers (030) must keep firing, so
-- they become ALWAYS triggers, which fire in every replication role. The import
-- only takes this path when every trigger of `lead` of its own is ALWAYS (or
-- disabled): a later ordinary trigger turns the optimisation off, never
-- silently skips that trigger (dialer/store/imports.py _may_skip_fk_checks).
ALTER TABLE lead ENABLE ALWAYS TRIGGER lead_window_key_insert;
ALTER TABLE lead ENABLE ALWAYS TRIGGER lead_window_key_update;
