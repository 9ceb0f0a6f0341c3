-- Sliding windows of recent use per (bucket, subject): the chat's 10 commands a minute per person (bucket `commands`)
-- and the composer preview's budget of model calls (bucket `llm_previews`). `hits` lists the admitted times still in
-- the window, as microseconds since the epoch, comma-separated, oldest first. Slots are taken in the single writer's
-- `BEGIN IMMEDIATE` transactions, so two stores on one file see each other's hits.
CREATE TABLE rate_windows (
    bucket     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    hits       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject)
) STRICT;
