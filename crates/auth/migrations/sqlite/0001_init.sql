-- Auth store, embedded flavour (SQLite).
--
-- Timestamps are INTEGER unix microseconds (UTC), so comparisons are numeric and round trips exact. UUIDs are
-- lower-case hyphenated TEXT: their text order equals PostgreSQL's uuid order, so keyset pages agree across stores.
-- Roles are TEXT (`Role::as_str`). Tables are STRICT so a wrongly typed bind fails loudly instead of being coerced.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE CHECK (email = lower(email)),
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;

-- Keyset pagination: WHERE (created_at, id) > (?, ?) ORDER BY created_at, id.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- One row per failed login; counted over a window, forgotten on success.
CREATE TABLE login_failures (
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_user_at ON login_failures (user_id, at);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

-- revoke_user_sessions touches only live sessions.
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid             TEXT    NOT NULL PRIMARY KEY,
    private_key_pem TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- Newest first.
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'service')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_tokens_created_at_id ON api_tokens (created_at, id);
CREATE INDEX api_tokens_user_created_at_id ON api_tokens (user_id, created_at, id);
