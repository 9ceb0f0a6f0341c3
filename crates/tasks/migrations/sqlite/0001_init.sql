-- Tasks store, embedded flavour (SQLite): the same semantics as the Redis store, see `src/store/mod.rs`.
--
-- Times are INTEGER unix microseconds (UTC), UUIDs lower-case hyphenated TEXT. Pipeline ids are UUIDv7, so their text
-- order is their creation order: "newest first" is `ORDER BY id DESC`. Tables are STRICT so a wrongly typed bind fails
-- loudly.

CREATE TABLE pipelines (
    id              TEXT    NOT NULL PRIMARY KEY,
    project         TEXT    NOT NULL,
    -- Copied out of `doc` on every write for the list filters.
    status          TEXT    NOT NULL,
    idempotency_key TEXT,
    -- Compare-and-set: every update names the version it read. Starts at 1.
    version         INTEGER NOT NULL CHECK (version >= 1),
    -- The pipeline document (`store::encode_pipeline`), the same bytes the Redis store keeps.
    doc             BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- A `(project, idempotency key)` names at most one pipeline; pipelines without a key are not constrained.
CREATE UNIQUE INDEX pipelines_idempotency ON pipelines (project, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Keyset pages newest first for each filter: WHERE [project = ?] [AND status = ?] AND id < ? ORDER BY id DESC. The
-- unfiltered list walks the primary key.
CREATE INDEX pipelines_project_id ON pipelines (project, id);
CREATE INDEX pipelines_status_id ON pipelines (status, id);
CREATE INDEX pipelines_project_status_id ON pipelines (project, status, id);

-- Which pipeline a job belongs to (workers and log readers know only the job).
CREATE TABLE pipeline_jobs (
    job      TEXT NOT NULL PRIMARY KEY,
    pipeline TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The job queue. An entry is leaseable when `available_at <= now` and it is unleased or its lease lapsed
-- (`lease_until <= now`). AUTOINCREMENT: an entry id (handed to workers) is never reused after an ack.
CREATE TABLE queue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline     TEXT    NOT NULL,
    job          TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    leased_by    TEXT,
    lease_until  INTEGER,
    -- Leases handed out so far; the holder of delivery n is the only one that may renew or release it.
    deliveries   INTEGER NOT NULL DEFAULT 0,
    CHECK ((leased_by IS NULL) = (lease_until IS NULL))
) STRICT;

CREATE INDEX queue_unleased ON queue (available_at, id) WHERE leased_by IS NULL;
CREATE INDEX queue_leased ON queue (lease_until, id) WHERE leased_by IS NOT NULL;

-- Running attempts whose worker must stop. Pruned once no attempt can still be running (after the longest timeout).
CREATE TABLE stop_flags (
    job          TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (job, attempt)
) STRICT, WITHOUT ROWID;

CREATE INDEX stop_flags_requested_at ON stop_flags (requested_at);

-- Job output, one row per line, numbered per attempt from 0. Only the last MAX_LOG_LINES of an attempt are kept.
CREATE TABLE log_lines (
    job         TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    line_offset INTEGER NOT NULL,
    line        TEXT    NOT NULL,
    PRIMARY KEY (job, attempt, line_offset)
) STRICT, WITHOUT ROWID;

-- Lines ever appended to an attempt, trimmed ones included.
CREATE TABLE log_totals (
    job     TEXT    NOT NULL,
    attempt INTEGER NOT NULL,
    total   INTEGER NOT NULL,
    PRIMARY KEY (job, attempt)
) STRICT, WITHOUT ROWID;

-- The event stream. The id is the event id callers see (as a decimal string); AUTOINCREMENT keeps ids increasing even
-- after every event was trimmed. Trimmed to the newest MAX_EVENTS.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    project  TEXT    NOT NULL,
    pipeline TEXT    NOT NULL,
    -- An encoded `devopstrack.tasks.v1.Event` without its id.
    payload  BLOB    NOT NULL
) STRICT;

-- Finished deploys to report to the projects service, keyed by pipeline id.
CREATE TABLE outbox (
    id       TEXT    NOT NULL PRIMARY KEY,
    -- An encoded `devopstrack.projects.v1.RecordDeploymentRequest`.
    payload  BLOB    NOT NULL,
    attempts INTEGER NOT NULL,
    due_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_due ON outbox (due_at, id);
