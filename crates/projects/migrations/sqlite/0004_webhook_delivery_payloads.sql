-- A claim keeps what is needed to process its delivery again if its processor dies after the gateway answered
-- GitHub (ClaimStaleGithubDeliveries): the `X-GitHub-Event` and the raw body, byte for byte, as verified. Both are set
-- together when a claim is made (or taken over by a redelivery), and cleared when it ends processed (a failed one is
-- deleted). NULL for claims made before this migration or by a caller that sent no event: those are re-claimed only
-- by a redelivery, as before.

ALTER TABLE webhook_deliveries ADD COLUMN event TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN payload BLOB;
-- How many times recovery has taken the claim over since it was last claimed by a delivery: a delivery whose
-- processing dies every time is handed out a bounded number of times, then left to expire with its id.
ALTER TABLE webhook_deliveries ADD COLUMN takeovers INTEGER NOT NULL DEFAULT 0;

-- Recovery: the unfinished claims that keep a payload, oldest first (processed ids, kept for days, are not in it).
CREATE INDEX webhook_deliveries_kept ON webhook_deliveries (received_at, project_id, delivery_id)
    WHERE completed_at IS NULL AND payload IS NOT NULL;
