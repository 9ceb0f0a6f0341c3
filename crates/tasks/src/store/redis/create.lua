-- Second half of the create script (after writes.lua). Returns the new pipeline's run number when created, else the
-- id of the pipeline that already holds this id or (project, idempotency key): then nothing was written (and no
-- number was used).

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
local number = redis.call('HINCRBY', KEYS[15], project, 1)
redis.call('HSET', KEYS[1], 'doc', doc, 'version', next_version, 'status', status, 'number', number)
redis.call('HSET', KEYS[16], number, id)
for i = 4, 7 do
  redis.call('ZADD', KEYS[i], 0, id)
end

-- Event { pipeline (4, length-delimited) { number (19, varint) } }: tag bytes 0x22, then 0x98 0x01.
local varint, n = {}, number
while n >= 128 do
  varint[#varint + 1] = string.char(n % 128 + 128)
  n = math.floor(n / 128)
end
varint[#varint + 1] = string.char(n)
local pipeline_field = '\152\1' .. table.concat(varint)
event_stamp = '\34' .. string.char(#pipeline_field) .. pipeline_field

index_jobs()
apply_writes()
return number
