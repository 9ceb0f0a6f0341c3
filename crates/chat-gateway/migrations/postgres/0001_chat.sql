-- Chat store, production flavour (PostgreSQL): rooms, messages, actions with their decisions, the audit trail.
--
-- Timestamps are TIMESTAMPTZ (microseconds: the store truncates what it is given). Enumerations are TEXT guarded by
-- CHECK constraints (the Rust `as_str` names). JSON (payloads, params, audit details) is TEXT holding exactly what
-- the store wrote: audit details are hashed as that text, so nothing may re-encode it.

-- A room's row is also its event counter: an append increments it in the message's transaction, which serialises
-- appends per room and keeps event ids gapless in commit order.
CREATE TABLE rooms (
    id            TEXT        NOT NULL PRIMARY KEY,
    kind          TEXT        NOT NULL CONSTRAINT rooms_kind_known CHECK (kind IN ('general', 'project', 'dm')),
    last_event_id BIGINT      NOT NULL DEFAULT 0 CONSTRAINT rooms_last_event_id_positive CHECK (last_event_id >= 0),
    created_at    TIMESTAMPTZ NOT NULL
);

INSERT INTO rooms (id, kind, created_at) VALUES ('general', 'general', date_trunc('microseconds', now()));

CREATE TABLE messages (
    room_id       TEXT        NOT NULL REFERENCES rooms (id),
    event_id      BIGINT      NOT NULL CONSTRAINT messages_event_id_positive CHECK (event_id > 0),
    kind          TEXT        NOT NULL CONSTRAINT messages_kind_known CHECK (kind IN ('user', 'bot', 'system')),
    sender_id     TEXT,
    sender_name   TEXT,
    client_msg_id TEXT,
    text          TEXT        NOT NULL,
    payload       TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (room_id, event_id),
    -- A person's message names them; the bot's names nobody.
    CONSTRAINT messages_sender_matches_kind CHECK (
        (kind = 'user') = (sender_id IS NOT NULL AND sender_name IS NOT NULL)
        AND (kind <> 'user' OR client_msg_id IS NOT NULL)
    )
);

-- The resend check (under the room's lock) and its backstop.
CREATE UNIQUE INDEX messages_client_msg_id ON messages (room_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE actions (
    id          UUID        NOT NULL PRIMARY KEY,
    short_code  TEXT        NOT NULL CONSTRAINT actions_short_code_form CHECK (short_code ~ '^[2-9A-HJKMNP-Z]{4}$'),
    room_id     TEXT        NOT NULL REFERENCES rooms (id),
    asker_id    TEXT        NOT NULL,
    asker_name  TEXT        NOT NULL,
    asker_role  TEXT        NOT NULL CONSTRAINT actions_asker_role_known
                            CHECK (asker_role IN ('viewer', 'operator', 'admin', 'service')),
    intent      TEXT        NOT NULL,
    params      TEXT        NOT NULL,
    risk        TEXT        NOT NULL CONSTRAINT actions_risk_known CHECK (risk IN ('medium', 'high', 'critical')),
    state       TEXT        NOT NULL CONSTRAINT actions_state_known CHECK (state IN ('awaiting_confirmation',
                            'awaiting_approval', 'executing', 'succeeded', 'failed', 'rejected', 'expired')),
    target      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    confirm_by  TIMESTAMPTZ NOT NULL,
    approve_by  TIMESTAMPTZ,
    pipeline_id TEXT,
    run_number  BIGINT,
    outcome     TEXT,
    finished_at TIMESTAMPTZ,
    CONSTRAINT actions_run_whole CHECK ((pipeline_id IS NULL) = (run_number IS NULL))
);

-- A short code is unique among open actions only: closed actions give theirs back.
CREATE UNIQUE INDEX actions_open_short_code ON actions (short_code)
    WHERE state IN ('awaiting_confirmation', 'awaiting_approval');
-- Open actions by room and by asker, and the expiry sweep, read only this small set.
CREATE INDEX actions_open ON actions (created_at, id) WHERE state IN ('awaiting_confirmation', 'awaiting_approval');

CREATE TABLE decisions (
    action_id UUID        NOT NULL REFERENCES actions (id),
    decision  TEXT        NOT NULL CONSTRAINT decisions_decision_known CHECK (decision IN ('confirm', 'approve', 'reject')),
    by_id     TEXT        NOT NULL,
    by_name   TEXT        NOT NULL,
    by_role   TEXT        NOT NULL CONSTRAINT decisions_by_role_known
                          CHECK (by_role IN ('viewer', 'operator', 'admin', 'service')),
    at        TIMESTAMPTZ NOT NULL,
    -- Each decision happens at most once per action.
    PRIMARY KEY (action_id, decision)
);

-- The audit trail: append-only, hash-chained (see src/chat/store/audit/mod.rs).
CREATE TABLE audit_log (
    seq        BIGINT      NOT NULL PRIMARY KEY CONSTRAINT audit_log_seq_positive CHECK (seq > 0),
    at         TIMESTAMPTZ NOT NULL,
    actor_id   TEXT        NOT NULL,
    actor_name TEXT        NOT NULL,
    actor_role TEXT,
    kind       TEXT        NOT NULL,
    target     TEXT        NOT NULL,
    result     TEXT        NOT NULL,
    source     TEXT,
    request_id TEXT,
    details    TEXT        NOT NULL,
    prev_hash  TEXT        NOT NULL,
    hash       TEXT        NOT NULL
);

CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_kind ON audit_log (kind, seq);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's head: appends lock this one row (SELECT ... FOR UPDATE), so they are serialised and the chain never
-- forks; verification compares it with the last record, so a cut-off tail shows.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CONSTRAINT audit_head_single CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Keys the store makes for itself, shared by every replica on this database (the audit page-token key).
CREATE TABLE store_keys (
    name TEXT  NOT NULL PRIMARY KEY,
    key  BYTEA NOT NULL
);
