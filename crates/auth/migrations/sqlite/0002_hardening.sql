-- Issue 12 (hardening).
--
-- Login throttling moves from a per-account count and lock (which let a stranger lock anyone out) to progressive
-- delays per (account, source address) key: `login_throttle` holds one row per hashed key, and the account-wide lock
-- goes.
DROP TABLE login_failures;
ALTER TABLE users DROP COLUMN locked_until;

CREATE TABLE login_throttle (
    key             TEXT    NOT NULL PRIMARY KEY,
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    last_attempt_at INTEGER NOT NULL
) STRICT;

-- Pruning forgets rows by age.
CREATE INDEX login_throttle_last_attempt_at ON login_throttle (last_attempt_at);

-- Signing keys are sealed under a key-encryption key kept outside the database (`kek1.<fingerprint>.<sealed>`); a
-- plaintext PEM from before is sealed at the first start with a KEK.
ALTER TABLE signing_keys RENAME COLUMN private_key_pem TO private_key;

-- An API token made by a caller that authenticated with another API token names that token: revoking the parent
-- revokes what it made.
ALTER TABLE api_tokens ADD COLUMN parent_id TEXT REFERENCES api_tokens (id) ON DELETE CASCADE;
CREATE INDEX api_tokens_parent ON api_tokens (parent_id) WHERE parent_id IS NOT NULL;
