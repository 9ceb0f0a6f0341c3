-- A parked delivery becomes pending again, due now, from its first attempt. Answers 1, or 0 when it is not parked.
-- KEYS  1 delivery hash, 2 due zset, 3 pending index, 4 parked index
-- ARGV  id, now ms
if redis.call('HGET', KEYS[1], 'state') ~= 'parked' then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', '0', 'due_at', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
