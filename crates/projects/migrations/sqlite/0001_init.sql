-- Projects store, embedded flavour (SQLite).
--
-- Timestamps are INTEGER unix microseconds (UTC), so comparisons are numeric and round trips exact. Ids are TEXT:
-- UUIDs lower-case hyphenated, whose text order is the tie-breaker of every keyset page (the MongoDB store compares
-- the same strings), deployment ids as given. Tables are STRICT so a wrongly typed bind fails loudly.
--
-- No foreign keys: the MongoDB store cannot have them either, so the use-cases check that a project exists, and
-- `delete_project` removes the releases and deployments itself, in one transaction.

CREATE TABLE projects (
    id           TEXT    NOT NULL PRIMARY KEY,
    slug         TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    -- JSON array of tag strings, sorted and unique; filtered with json_each.
    tags         TEXT    NOT NULL CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    owner        TEXT    NOT NULL,
    -- JSON array of {"url", "provider", "default_branch"}.
    repositories TEXT    NOT NULL CHECK (json_valid(repositories) AND json_type(repositories) = 'array'),
    -- JSON array of {"name", "tier", "url", "protected"}.
    environments TEXT    NOT NULL CHECK (json_valid(environments) AND json_type(environments) = 'array'),
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    archived_at  INTEGER
) STRICT;

-- Keyset pagination for each sort order: WHERE (key, id) > (?, ?) ORDER BY key, id (or < and DESC). The slug order
-- uses the UNIQUE index on slug.
CREATE INDEX projects_name_id ON projects (name, id);
CREATE INDEX projects_created_at_id ON projects (created_at, id);
CREATE INDEX projects_updated_at_id ON projects (updated_at, id);

CREATE TABLE releases (
    id         TEXT    NOT NULL PRIMARY KEY,
    project_id TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    commit_sha TEXT,
    notes      TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, version)
) STRICT;

-- Newest first: ORDER BY created_at DESC, id DESC.
CREATE INDEX releases_project_created ON releases (project_id, created_at DESC, id DESC);

CREATE TABLE deployments (
    -- The idempotency key (a UUID, `gh-123456`, …).
    id           TEXT    NOT NULL PRIMARY KEY,
    project_id   TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    commit_sha   TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed', 'rolled_back')),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    triggered_by TEXT    NOT NULL,
    pipeline_id  TEXT    NOT NULL
) STRICT;

-- One environment's history newest first, and its current/last deployment (environment_states).
CREATE INDEX deployments_project_env_finished ON deployments (project_id, environment, finished_at DESC, id DESC);
-- Every environment's history newest first.
CREATE INDEX deployments_project_finished ON deployments (project_id, finished_at DESC, id DESC);
