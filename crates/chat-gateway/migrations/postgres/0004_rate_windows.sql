-- Sliding windows of recent use per (bucket, subject), shared by every replica on this database, so a limit holds for
-- the whole deployment and not per replica: the chat's 10 commands a minute per person (bucket `commands`) and the
-- composer preview's budget of model calls (bucket `llm_previews`). `hits` lists the admitted times still in the
-- window, as microseconds since the epoch, comma-separated, oldest first. A row is locked (FOR UPDATE) while a slot
-- is taken, so two replicas admitting at once see each other's hits.
CREATE TABLE rate_windows (
    bucket     TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    hits       TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bucket, subject)
);
