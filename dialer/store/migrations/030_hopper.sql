-- The hopper's view of the lead table (issue 5).
--
-- Claims scan two partial indexes that hold only leads that are unfinished,
-- valid and not leased: "fresh" leads (never scheduled: next_attempt_at NULL),
-- in id order for the list strategies, and "due" leads (scheduled), in due
-- order. A claim sets lease_owner, which takes the row out of both, so claimed
-- and in-flight leads never slow later claims down; a lead waiting for its
-- retry sits behind the `next_attempt_at <= now` range and is not read either.
CREATE INDEX lead_hopper_fresh_idx ON lead (list_id, call_mode, id)
    WHERE NOT completed AND valid AND lease_owner IS NULL AND next_attempt_at IS NULL;
CREATE INDEX lead_hopper_due_idx ON lead (list_id, call_mode, next_attempt_at, id)
    WHERE NOT completed AND valid AND lease_owner IS NULL AND next_attempt_at IS NOT NULL;
-- Leased leads only (a few thousand at most): finds expired leases to return.
CREATE INDEX lead_lease_idx ON lead (campaign_id, lease_expires_at) WHERE lease_owner IS NOT NULL;

-- A lead's calling window depends only on (country, region, zones). The hopper
-- decides, in Python and per minute, which of these keys are open and passes the
-- open ones to the claim; this table lists the keys each campaign has, kept up to
-- date by triggers so nobody has to scan millions of leads to find them.
-- STABLE (array_to_string is) and a plain SELECT body, so the planner inlines it.
CREATE FUNCTION lead_window_key(tz text, tzs text[], region text, country text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(upper(country), '') || '|' || coalesce(upper(region), '') || '|'
           || CASE WHEN cardinality(tzs) > 0 THEN array_to_string(tzs, ',') ELSE tz END $$;

CREATE TABLE lead_window_key (
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    key         text NOT NULL,
    PRIMARY KEY (campaign_id, key)
);

CREATE FUNCTION lead_window_key_collect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_window_key (campaign_id, key)
    SELECT DISTINCT campaign_id, lead_window_key(timezone, timezones, region, country) FROM new_leads
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION lead_window_key_collect_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_window_key (campaign_id, key)
    VALUES (NEW.campaign_id, lead_window_key(NEW.timezone, NEW.timezones, NEW.region, NEW.country))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- Statement-level on INSERT (also fires for COPY): one DISTINCT per batch.
CREATE TRIGGER lead_window_key_insert AFTER INSERT ON lead
    REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION lead_window_key_collect();
-- Row-level on the rare edit of a location column; claims never fire it.
CREATE TRIGGER lead_window_key_update AFTER UPDATE OF timezone, timezones, region, country, campaign_id ON lead
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone OR OLD.timezones IS DISTINCT FROM NEW.timezones
                       OR OLD.region IS DISTINCT FROM NEW.region OR OLD.country IS DISTINCT FROM NEW.country
                       OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)
    EXECUTE FUNCTION lead_window_key_collect_row();

INSERT INTO lead_window_key (campaign_id, key)
SELECT DISTINCT campaign_id, lead_window_key(timezone, timezones, region, country) FROM lead
ON CONFLICT DO NOTHING;
