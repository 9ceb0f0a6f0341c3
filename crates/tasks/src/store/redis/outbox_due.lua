-- outbox_due: (id, due ms, attempts, payload) of up to `limit` entries due at `now`, oldest due first.
-- KEYS  1 outbox payloads, 2 outbox attempts, 3 outbox due zset
-- ARGV  1 now ms, 2 limit

local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local out = {}
for i = 1, #due, 2 do
  local payload = redis.call('HGET', KEYS[1], due[i])
  if payload then
    out[#out + 1] = due[i]
    out[#out + 1] = due[i + 1]
    out[#out + 1] = redis.call('HGET', KEYS[2], due[i]) or '0'
    out[#out + 1] = payload
  end
end
return out
