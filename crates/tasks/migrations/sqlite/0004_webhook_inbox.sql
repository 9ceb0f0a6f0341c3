-- The GitHub webhook inbox (see src/store/inbox.rs). `webhook_delivery_ids` remembers every verified delivery id for
-- the dedup window (7 days; pruned by the processor); `webhook_inbox` holds the deliveries still to process (pending)
-- or that failed every attempt (parked). A delivery and its id are inserted in one transaction; a processed delivery
-- is deleted in the transaction that queues its effects in the outboxes.
CREATE TABLE webhook_delivery_ids (
    project_id  TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    -- Unix microseconds.
    received_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, delivery_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX webhook_delivery_ids_received ON webhook_delivery_ids (received_at);

CREATE TABLE webhook_inbox (
    -- A UUIDv7 (text): id order is arrival order.
    id           TEXT    NOT NULL PRIMARY KEY,
    project_id   TEXT    NOT NULL,
    project_slug TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    -- The raw body, byte for byte.
    body         BLOB    NOT NULL,
    -- `pending` or `parked`.
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'parked')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    received_at  INTEGER NOT NULL,
    -- Pending: when it is due (a leased one: when its lease lapses). Parked: when it was parked.
    due_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_inbox_due ON webhook_inbox (state, due_at, id);
