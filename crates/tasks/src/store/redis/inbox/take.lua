-- Leases the due deliveries: each is made due again at the lease's end. Answers their ids, oldest due first.
-- KEYS  1 due zset
-- ARGV  now ms, lease end ms, limit, delivery hash key prefix
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', ARGV[4] .. id, 'due_at', ARGV[2])
end
return ids
