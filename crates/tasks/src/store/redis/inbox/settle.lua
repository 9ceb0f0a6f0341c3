-- A failed attempt of a pending delivery: counted, its error kept, and either due again at a time (retry) or parked.
-- Answers 1, or 0 when the delivery is not pending.
-- KEYS  1 delivery hash, 2 due zset, 3 pending index, 4 parked index
-- ARGV  id, error, "retry" | "park", ms (retry: when due; park: now)
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[2], 'due_at', ARGV[4])
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'state', 'parked')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], 0, ARGV[1])
end
return 1
