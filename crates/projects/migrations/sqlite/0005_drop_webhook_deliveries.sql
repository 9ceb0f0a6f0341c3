-- The GitHub intake moved to tasks (its webhook inbox deduplicates delivery ids and keeps deliveries until they are
-- processed); projects only verifies signatures. The delivery claims go, with the events and payloads that unfinished
-- ones kept (ClaimStaleGithubDeliveries is gone): such a delivery was answered 202 by an older gateway that died
-- before finishing it. Its recovery is GitHub's redelivery (from the webhook's "Recent Deliveries" page, or the API),
-- which the new intake accepts as new since no id is remembered here any more. See docs-notes/github-intake.md.
DROP INDEX IF EXISTS webhook_deliveries_kept;
DROP TABLE IF EXISTS webhook_deliveries;
