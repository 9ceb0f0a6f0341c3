-- Second half of the update script (after writes.lua): compare-and-set on the stored version, then the new document,
-- the move between status indexes and the writes. Returns 1 when applied, 0 when the version moved or the pipeline
-- is gone (nothing written).

if redis.call('HGET', KEYS[1], 'version') ~= check then
  return 0
end
redis.call('HSET', KEYS[1], 'doc', doc, 'version', next_version)
redis.call('ZADD', KEYS[6], 0, id)
redis.call('ZADD', KEYS[7], 0, id)
for _, index in ipairs(other_indexes) do
  redis.call('ZREM', index, id)
end
index_jobs()
apply_writes()
return 1
