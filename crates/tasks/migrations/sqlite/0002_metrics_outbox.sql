-- Job runs and deployments for the metrics service, in the order they happened, until delivered (then deleted).
-- AUTOINCREMENT: an id handed to the delivery loop is never reused, so deleting delivered ids cannot hit a newer row.
CREATE TABLE metrics_outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- `job_run` or `deployment`.
    kind    TEXT    NOT NULL,
    -- An encoded `devopstrack.metrics.v1.JobRun` or `Deployment`.
    payload BLOB    NOT NULL
) STRICT;
