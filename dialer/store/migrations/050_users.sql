-- People who use the web pages and the HTTP API, and their login sessions.
-- An operator user is tied to the engine's `operator` row (same person on the
-- phone and on the desktop); other roles have none.

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('operator', 'validator', 'supervisor', 'admin')),
    password_hash text NOT NULL,                     -- argon2id, PHC string
    operator_id   bigint UNIQUE REFERENCES operator(id) ON DELETE SET NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'operator' OR operator_id IS NOT NULL)
);

-- Tokens are random 256-bit strings; only their SHA-256 is stored, so a copy
-- of the database does not let anyone log in.
CREATE TABLE user_session (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_session_user_idx ON user_session (user_id);
CREATE INDEX user_session_expiry_idx ON user_session (expires_at);
