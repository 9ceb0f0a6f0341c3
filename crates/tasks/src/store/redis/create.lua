-- Second half of the create script (after writes.lua). Returns nil when created, else the id of the pipeline that
-- already holds this id or (project, idempotency key): then nothing was written.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return id
end
if check ~= '' then
  local first = redis.call('HGET', KEYS[3], check)
  if first then
    return first
  end
  redis.call('HSET', KEYS[3], check, id)
end
redis.call('HSET', KEYS[1], 'doc', doc, 'version', next_version, 'status', status)
for i = 4, 7 do
  redis.call('ZADD', KEYS[i], 0, id)
end
index_jobs()
apply_writes()
return false
