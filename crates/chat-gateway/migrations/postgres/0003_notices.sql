-- The bot's notices (a run failed, a deploy finished, an approval waits) carry one key per platform event as their
-- client_msg_id, so the notice is stored once however many replicas post it, and again after a restart.
CREATE UNIQUE INDEX messages_notice_key ON messages (room_id, client_msg_id)
    WHERE sender_id IS NULL AND client_msg_id IS NOT NULL;

-- Where a replica's follower of another service's event stream is: the last event it handled (shared by every
-- replica on this database: each resumes after it, and the notice keys drop what two of them both handled).
CREATE TABLE feed_cursors (
    name       TEXT        NOT NULL PRIMARY KEY,
    position   TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
