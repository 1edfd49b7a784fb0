-- The schema for the whole mission. Later migrations add to it; none rewrites
-- history. Times are timestamptz (UTC inside); local times are computed from
-- each lead's IANA timezone.

CREATE TABLE campaign (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    purpose         text,                                -- duplicate scope "purpose" groups campaigns by this
    country         text NOT NULL DEFAULT 'US',          -- ISO 3166 region used to parse phone numbers
    timezone        text NOT NULL DEFAULT 'America/New_York',  -- default zone for leads with none
    calling_start   time NOT NULL DEFAULT '09:00',       -- lead-local calling hours
    calling_end     time NOT NULL DEFAULT '21:00',
    calling_days    smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}',  -- ISO weekdays, 1 = Monday
    holidays        date[] NOT NULL DEFAULT '{}',
    dial_mode       text NOT NULL DEFAULT 'progressive'
                    CHECK (dial_mode IN ('preview', 'progressive', 'power', 'predictive')),
    active          boolean NOT NULL DEFAULT true,
    caller_id       text,
    validation      boolean NOT NULL DEFAULT false,      -- call-centre validation of wrapped leads
    abandon_lockout interval,                            -- no redial after an abandoned call for this long
    max_daily_attempts_per_number integer,
    callback_grace  interval NOT NULL DEFAULT '15 minutes',  -- owned callback goes to anyone after this
    callback_grace_action text NOT NULL DEFAULT 'anyone'
                    CHECK (callback_grace_action IN ('anyone', 'wait')),
    editable_statuses text[] NOT NULL DEFAULT '{CAUTION}',   -- bulk edit may change leads in these
    settings        jsonb NOT NULL DEFAULT '{}',         -- pacing and other per-campaign knobs
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lead_list (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    name        text NOT NULL,
    to_dial     boolean NOT NULL DEFAULT false,
    weight      integer NOT NULL DEFAULT 100 CHECK (weight >= 0),
    strategy    text NOT NULL DEFAULT 'oldest'
                CHECK (strategy IN ('oldest', 'newest', 'fewest_attempts', 'random')),
    active      boolean NOT NULL DEFAULT true,
    system      boolean NOT NULL DEFAULT false,          -- e.g. SYS_DUPLICATE_LEADS
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, name)
);

-- Call modes group statuses for dialing order and retry rules.
CREATE TABLE call_mode (
    campaign_id        bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    name               text NOT NULL,                    -- new, retry, callback, reconfirm, or user-defined
    new_lead_priority  boolean NOT NULL DEFAULT false,
    time_on_standard   interval,                         -- waiting longer than this raises priority
    put_off            jsonb NOT NULL DEFAULT '{}',      -- outcome -> minutes, e.g. {"no_answer": 60}
    max_attempts       integer,
    exhausted_status   text,
    position           integer NOT NULL DEFAULT 0,       -- order among modes when dialing
    PRIMARY KEY (campaign_id, name)
);

CREATE TABLE lead_status (
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    code        text NOT NULL,
    label       text NOT NULL,
    auto_dial   boolean NOT NULL DEFAULT false,          -- leads in this status are dialed automatically
    call_mode   text,
    completed   boolean NOT NULL DEFAULT false,          -- status means the lead is finished
    PRIMARY KEY (campaign_id, code)
);

CREATE TABLE wrap_code (
    campaign_id      bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    code             text NOT NULL,
    label            text NOT NULL,
    completes        boolean NOT NULL DEFAULT false,
    retry_after      interval,
    next_status      text,
    adds_dnc         boolean NOT NULL DEFAULT false,
    needs_validation boolean NOT NULL DEFAULT false,
    is_callback      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (campaign_id, code)
);

CREATE TABLE lead (
    id                bigserial PRIMARY KEY,
    campaign_id       bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    list_id           bigint NOT NULL REFERENCES lead_list(id) ON DELETE CASCADE,
    customer_key      text,
    phone             text NOT NULL,                     -- E.164
    alt_phones        text[] NOT NULL DEFAULT '{}',
    phone_type        text,                              -- mobile, fixed_line, fixed_line_or_mobile, voip, ...
    first_name        text,
    last_name         text,
    email             text,
    address           text,
    city              text,
    region            text,                              -- state / province
    postal_code       text,
    country           text,
    timezone          text NOT NULL,                     -- IANA name
    timezones         text[],                            -- all zones a number may be in, when several
    fields            jsonb NOT NULL DEFAULT '{}',       -- custom fields
    source            text NOT NULL DEFAULT 'import',    -- import, manual, inbound, copy
    status            text NOT NULL DEFAULT 'NEW',
    call_mode         text NOT NULL DEFAULT 'new',
    priority          integer NOT NULL DEFAULT 0,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,                       -- NULL: callable as soon as other rules allow
    last_attempt_at   timestamptz,
    last_contacted_at timestamptz,                       -- last time a person talked to them
    last_outcome      text,
    wrap_code         text,
    completed         boolean NOT NULL DEFAULT false,
    contact_status    text CHECK (contact_status IN ('unconfirmed', 'confirmed', 'rejected')),
    valid             boolean NOT NULL DEFAULT true,
    lease_owner       text,
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_list_idx ON lead (list_id);
CREATE INDEX lead_campaign_idx ON lead (campaign_id);
CREATE INDEX lead_phone_idx ON lead (phone);
CREATE INDEX lead_customer_key_idx ON lead (list_id, customer_key) WHERE customer_key IS NOT NULL;
-- Candidates for the hopper: only leads that may still be dialed.
CREATE INDEX lead_dialable_idx ON lead (list_id, priority DESC, next_attempt_at, id)
    WHERE NOT completed AND valid;

CREATE TABLE operator (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    display_name text,
    sip_user     text UNIQUE,
    sip_password text,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per call placed: the call history and the audit trail. Written
-- before the INVITE leaves, so a crash leaves evidence, never a silent dial.
CREATE TABLE attempt (
    id             bigserial PRIMARY KEY,
    lead_id        bigint REFERENCES lead(id) ON DELETE SET NULL,
    campaign_id    bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    list_id        bigint,
    node           text,
    trunk          text,
    call_id        text,
    called_number  text NOT NULL,
    caller_number  text,
    lead_timezone  text,                                 -- as at dial time, for the audit
    lead_region    text,
    call_mode      text,
    started_at     timestamptz NOT NULL,
    ringing_at     timestamptz,
    answered_at    timestamptz,
    bridged_at     timestamptz,
    ended_at       timestamptz,
    sip_status     integer,
    outcome        text CHECK (outcome IN ('answered', 'machine', 'busy', 'no_answer', 'invalid',
                                           'rejected', 'failed', 'abandoned', 'unknown')),
    operator_id    bigint REFERENCES operator(id) ON DELETE SET NULL,
    wrap_code      text,
    notes          text
);
CREATE INDEX attempt_lead_idx ON attempt (lead_id, started_at);
CREATE INDEX attempt_number_idx ON attempt (called_number, started_at);
CREATE INDEX attempt_campaign_idx ON attempt (campaign_id, started_at);
CREATE INDEX attempt_open_idx ON attempt (node) WHERE ended_at IS NULL;

-- Do-not-call: campaign_id NULL is the account-wide list.
CREATE TABLE dnc (
    phone       text NOT NULL,                           -- E.164
    campaign_id bigint REFERENCES campaign(id) ON DELETE CASCADE,
    source      text,
    added_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dnc_scope_idx ON dnc (phone, coalesce(campaign_id, 0));

CREATE TABLE callback (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    due_at      timestamptz NOT NULL,
    operator_id bigint REFERENCES operator(id) ON DELETE SET NULL,  -- NULL: any operator
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX callback_due_idx ON callback (campaign_id, due_at) WHERE done_at IS NULL;

CREATE TABLE lead_note (
    id         bigserial PRIMARY KEY,
    lead_id    bigint NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
    author     text NOT NULL,
    kind       text NOT NULL DEFAULT 'note',             -- note, validation, bulk_edit, wrap
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lead_note_lead_idx ON lead_note (lead_id, created_at);

CREATE TABLE mapping_template (
    name           text PRIMARY KEY,
    mapping        jsonb NOT NULL,                       -- file column -> field
    timezone_rules jsonb NOT NULL DEFAULT '[]',
    options        jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- NANP wireless blocks (NPA-NXX or NPA-NXX-X), since phonenumbers cannot tell.
CREATE TABLE wireless_block (
    prefix text PRIMARY KEY                              -- digits after +1: 6 or 7 of them
);

CREATE TABLE import_job (
    id            bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
    list_id       bigint REFERENCES lead_list(id) ON DELETE SET NULL,
    new_list_name text,
    filename      text NOT NULL,
    options       jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed')),
    process_after timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    summary       jsonb,
    error         text
);
