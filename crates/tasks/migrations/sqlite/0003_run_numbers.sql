-- Run numbers: each project numbers its pipelines 1, 2, 3… The create transaction takes the next number from
-- `run_counters` (so a number is never reused, whatever happens to the pipelines) and stores it in `pipelines.number`.
-- Pipelines stored before this migration are numbered here in creation order (ids are UUIDv7: id order is creation
-- order), and each project's counter continues after them.

ALTER TABLE pipelines ADD COLUMN number INTEGER NOT NULL DEFAULT 0;

UPDATE pipelines
SET number = numbered.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY project ORDER BY id) AS n FROM pipelines) AS numbered
WHERE numbered.id = pipelines.id;

CREATE UNIQUE INDEX pipelines_project_number ON pipelines (project, number);

CREATE TABLE run_counters (
    project TEXT    NOT NULL PRIMARY KEY,
    -- The last number handed out.
    last    INTEGER NOT NULL CHECK (last >= 1)
) STRICT, WITHOUT ROWID;

INSERT INTO run_counters (project, last) SELECT project, MAX(number) FROM pipelines GROUP BY project;
