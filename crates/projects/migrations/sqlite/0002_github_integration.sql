-- GitHub integration: each project's webhook secret, sealed (XChaCha20-Poly1305, see src/secrets.rs: never the
-- plaintext), and the webhook delivery ids seen lately, so a replayed or redelivered delivery is processed once.
-- `delete_project` removes both with the project. Times are INTEGER unix microseconds, like 0001_init.sql.

CREATE TABLE github_integrations (
    project_id    TEXT    NOT NULL PRIMARY KEY,
    -- [format][24-byte nonce][ciphertext ‖ tag], the project id as associated data.
    sealed_secret BLOB    NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    project_id  TEXT    NOT NULL,
    -- X-GitHub-Delivery.
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, delivery_id)
) STRICT;

-- Pruning: DELETE … WHERE received_at < ?.
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
