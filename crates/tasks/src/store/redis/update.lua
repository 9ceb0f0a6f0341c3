-- Second half of the update script (after writes.lua): compare-and-set on the stored version, then the new document,
-- the move between status indexes (only when the status changed: out of the stored status's indexes, or out of every
-- other status's when a pipeline written before `status` was kept has none) and the writes. Returns 1 when applied,
-- 0 when the version moved or the pipeline is gone (nothing written).

local stored = redis.call('HMGET', KEYS[1], 'version', 'status')
if stored[1] ~= check then
  return 0
end
local old = stored[2]
redis.call('HSET', KEYS[1], 'doc', doc, 'version', next_version, 'status', status)
if old ~= status then
  redis.call('ZADD', KEYS[6], 0, id)
  redis.call('ZADD', KEYS[7], 0, id)
  for i, name in ipairs(other_statuses) do
    if not old or old == name then
      redis.call('ZREM', other_indexes[i][1], id)
      redis.call('ZREM', other_indexes[i][2], id)
    end
  end
end
index_jobs()
apply_writes()
return 1
