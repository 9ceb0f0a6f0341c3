// Idempotency keys for the requests that create something: the same key again answers the first result, so a retry
// after a lost answer does not start a second run. `[A-Za-z0-9._:-]`, at most 64 characters.

export function newIdempotencyKey(prefix = 'ui'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
