-- Auth store, production flavour (PostgreSQL).
--
-- Timestamps are TIMESTAMPTZ (microsecond precision: callers truncate with `now_micros`). Roles are TEXT
-- (`Role::as_str`) guarded by CHECK constraints. Emails arrive lower-cased from `Email::parse`; the CHECK keeps it so
-- and a plain unique index enforces case-insensitive uniqueness.

CREATE TABLE users (
    id            UUID        NOT NULL PRIMARY KEY,
    email         TEXT        NOT NULL CONSTRAINT users_email_key UNIQUE
                              CONSTRAINT users_email_lower CHECK (email = lower(email)),
    name          TEXT        NOT NULL,
    role          TEXT        NOT NULL CONSTRAINT users_role_known CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT        NOT NULL,
    disabled      BOOLEAN     NOT NULL DEFAULT FALSE,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ
);

-- Keyset pagination: WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- One row per failed login; counted over a window, forgotten on success.
CREATE TABLE login_failures (
    user_id UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX login_failures_user_at ON login_failures (user_id, at);

CREATE TABLE sessions (
    id         UUID        NOT NULL PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- revoke_user_sessions touches only live sessions.
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash TEXT        NOT NULL PRIMARY KEY,
    session_id UUID        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid             TEXT        NOT NULL PRIMARY KEY,
    private_key_pem TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Newest first.
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

CREATE TABLE api_tokens (
    id           UUID        NOT NULL PRIMARY KEY,
    user_id      UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT        NOT NULL,
    prefix       TEXT        NOT NULL,
    token_hash   TEXT        NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE,
    role         TEXT        NOT NULL
                             CONSTRAINT api_tokens_role_known CHECK (role IN ('viewer', 'operator', 'admin', 'service')),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_tokens_created_at_id ON api_tokens (created_at, id);
CREATE INDEX api_tokens_user_created_at_id ON api_tokens (user_id, created_at, id);
