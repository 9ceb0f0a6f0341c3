-- outbox_retry: counts a failed delivery and moves the due time, unless the entry was delivered meanwhile.
-- KEYS  1 outbox payloads, 2 outbox attempts, 3 outbox due zset
-- ARGV  1 id, 2 due ms

if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
