-- Chat store, embedded flavour (SQLite): the same tables as migrations/postgres, with the platform's column
-- conventions: times are INTEGER unix microseconds, UUIDs lower-case hyphenated TEXT, JSON the TEXT the store wrote.
-- Every write runs on one writer connection in BEGIN IMMEDIATE, which serialises appends, compare-and-sets and the
-- audit chain.

CREATE TABLE rooms (
    id            TEXT    NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('general', 'project', 'dm')),
    last_event_id INTEGER NOT NULL DEFAULT 0 CHECK (last_event_id >= 0),
    created_at    INTEGER NOT NULL
) STRICT;

INSERT INTO rooms (id, kind, created_at)
VALUES ('general', 'general', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE messages (
    room_id       TEXT    NOT NULL REFERENCES rooms (id),
    event_id      INTEGER NOT NULL CHECK (event_id > 0),
    kind          TEXT    NOT NULL CHECK (kind IN ('user', 'bot', 'system')),
    sender_id     TEXT,
    sender_name   TEXT,
    client_msg_id TEXT,
    text          TEXT    NOT NULL,
    payload       TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (room_id, event_id),
    CHECK (
        (kind = 'user') = (sender_id IS NOT NULL AND sender_name IS NOT NULL)
        AND (kind <> 'user' OR client_msg_id IS NOT NULL)
    )
) STRICT;

CREATE UNIQUE INDEX messages_client_msg_id ON messages (room_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE actions (
    id          TEXT    NOT NULL PRIMARY KEY,
    short_code  TEXT    NOT NULL CHECK (length(short_code) = 4 AND short_code NOT GLOB '*[^2-9A-HJKMNP-Z]*'),
    room_id     TEXT    NOT NULL REFERENCES rooms (id),
    asker_id    TEXT    NOT NULL,
    asker_name  TEXT    NOT NULL,
    asker_role  TEXT    NOT NULL CHECK (asker_role IN ('viewer', 'operator', 'admin', 'service')),
    intent      TEXT    NOT NULL,
    params      TEXT    NOT NULL,
    risk        TEXT    NOT NULL CHECK (risk IN ('medium', 'high', 'critical')),
    state       TEXT    NOT NULL CHECK (state IN ('awaiting_confirmation', 'awaiting_approval', 'executing',
                        'succeeded', 'failed', 'rejected', 'expired')),
    target      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    confirm_by  INTEGER NOT NULL,
    approve_by  INTEGER,
    pipeline_id TEXT,
    run_number  INTEGER,
    outcome     TEXT,
    finished_at INTEGER,
    CHECK ((pipeline_id IS NULL) = (run_number IS NULL))
) STRICT;

CREATE UNIQUE INDEX actions_open_short_code ON actions (short_code)
    WHERE state IN ('awaiting_confirmation', 'awaiting_approval');
CREATE INDEX actions_open ON actions (created_at, id) WHERE state IN ('awaiting_confirmation', 'awaiting_approval');

CREATE TABLE decisions (
    action_id TEXT    NOT NULL REFERENCES actions (id),
    decision  TEXT    NOT NULL CHECK (decision IN ('confirm', 'approve', 'reject')),
    by_id     TEXT    NOT NULL,
    by_name   TEXT    NOT NULL,
    by_role   TEXT    NOT NULL CHECK (by_role IN ('viewer', 'operator', 'admin', 'service')),
    at        INTEGER NOT NULL,
    PRIMARY KEY (action_id, decision)
) STRICT;

CREATE TABLE audit_log (
    seq        INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
    at         INTEGER NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_name TEXT    NOT NULL,
    actor_role TEXT,
    kind       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    source     TEXT,
    request_id TEXT,
    details    TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_kind ON audit_log (kind, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
) STRICT;

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE store_keys (
    name TEXT NOT NULL PRIMARY KEY,
    key  BLOB NOT NULL
) STRICT;
