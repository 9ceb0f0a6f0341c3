-- Webhook delivery ids become claims with an end (see VerifyGithubWebhook / FinishGithubDelivery): `completed_at` is
-- set when the gateway finished processing the delivery. An unfinished claim older than the claim TTL may be claimed
-- again by a redelivery (its processor died), and a failed one is deleted (a redelivery is processed).
-- Ids recorded before this migration were processed under the old rule (recorded = done): mark them completed.

ALTER TABLE webhook_deliveries ADD COLUMN completed_at INTEGER;
UPDATE webhook_deliveries SET completed_at = received_at;
