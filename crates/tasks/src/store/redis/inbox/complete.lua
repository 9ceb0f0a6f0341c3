-- Removes a processed (pending) delivery and queues its effects in the outboxes, as writes.lua does for a pipeline
-- write. Answers 1, or 0 (nothing written) when the delivery is not pending.
-- KEYS  1 delivery hash, 2 due zset, 3 pending index, 4 outbox payloads, 5 outbox attempts, 6 outbox due zset,
--       7 metrics stream
-- ARGV  id, #outbox, (id, payload, attempts, due ms)..., #metrics, (kind, payload)...
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local argi = 2
local function arg()
  argi = argi + 1
  return ARGV[argi]
end
for _ = 1, tonumber(ARGV[2]) do
  local id, payload, attempts, due = arg(), arg(), arg(), arg()
  redis.call('HSET', KEYS[4], id, payload)
  redis.call('HSET', KEYS[5], id, attempts)
  redis.call('ZADD', KEYS[6], due, id)
end
for _ = 1, tonumber(arg()) do
  local kind, payload = arg(), arg()
  redis.call('XADD', KEYS[7], '*', 'kind', kind, 'payload', payload)
end
return 1
