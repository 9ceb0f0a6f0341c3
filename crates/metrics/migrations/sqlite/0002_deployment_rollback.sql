-- Rollback deployments (issue 16): a deployment that ran the deploy definition back to an earlier good version.
-- DORA counts it as remediation, not as a change (see crates/metrics/README.md). Rows stored before were not.
ALTER TABLE deployments ADD COLUMN rollback INTEGER NOT NULL DEFAULT 0 CHECK (rollback IN (0, 1));
