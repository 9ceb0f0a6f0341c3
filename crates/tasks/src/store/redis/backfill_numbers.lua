-- Numbers one project's pipelines stored before run numbers existed, in creation order (ids are UUIDv7, so the
-- list index's lexical order is creation order), continuing its counter; pipelines already numbered are left alone,
-- so running it twice changes nothing. One project per call keeps each call short and atomic.
--
-- KEYS 1 the project's list index (zset), 2 run counters hash, 3 the project's run number -> pipeline hash.
-- ARGV 1 project, 2 the pipeline hash key prefix. Pipeline hashes are named from the index, not passed as keys:
--      this store runs on one server (no cluster), where that is allowed. Returns how many were numbered.

local numbered = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[2] .. id
  if redis.call('HEXISTS', key, 'number') == 0 and redis.call('EXISTS', key) == 1 then
    local number = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
    redis.call('HSET', key, 'number', number)
    redis.call('HSET', KEYS[3], number, id)
    numbered = numbered + 1
  end
end
return numbered
