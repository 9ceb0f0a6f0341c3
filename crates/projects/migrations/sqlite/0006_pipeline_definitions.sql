-- Pipeline definitions (issue 16): a project's named stage/job specs, of kind ci or deploy, versioned for
-- compare-and-set like projects. `spec` is the spec as sent (JSON `{"stages": […]}`, placeholders and all), validated
-- by the shared pipeline-spec crate before it is written. Deleted with their project (by the store, no foreign keys,
-- like the other tables).
CREATE TABLE pipeline_definitions (
    project_id       TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('ci', 'deploy')),
    description      TEXT    NOT NULL,
    spec             TEXT    NOT NULL CHECK (json_valid(spec) AND json_type(spec) = 'object'),
    allow_unreleased INTEGER NOT NULL CHECK (allow_unreleased IN (0, 1)),
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
) STRICT;

-- A deployment that was a rollback (a run of the deploy definition back to an earlier good version). Rows recorded
-- before this migration were not.
ALTER TABLE deployments ADD COLUMN rollback INTEGER NOT NULL DEFAULT 0 CHECK (rollback IN (0, 1));
