-- lease: promotes due delayed entries, then claims lapsed leases, then reads new entries, all for one consumer.
-- KEYS  1 queue stream, 2 delayed zset
-- ARGV  1 group, 2 consumer, 3 max deliveries, 4 lease ms (idle time after which a lease has lapsed), 5 now ms
-- Returns the next delayed entry's due time in ms ("" when none), then (entry id, pipeline, job, attempt,
-- deliveries) per delivery: lapsed leases first, then new entries in stream order.

local group, consumer, max = ARGV[1], ARGV[2], tonumber(ARGV[3])

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, 1000)
for _, member in ipairs(due) do
  local pipeline, job, attempt = string.match(member, '^(%S+) (%S+) (%S+)$')
  if pipeline then
    redis.call('XADD', KEYS[1], '*', 'pipeline', pipeline, 'job', job, 'attempt', attempt, 'deliveries', '1')
  else
    redis.log(redis.LOG_WARNING, 'devopstrack: dropping malformed delayed queue entry ' .. member)
  end
  redis.call('ZREM', KEYS[2], member)
end

local out = { '' }
local taken = 0
local function push(entry, counter)
  local fields = entry[2]
  out[#out + 1] = entry[1]
  out[#out + 1] = field(fields, 'pipeline') or ''
  out[#out + 1] = field(fields, 'job') or ''
  out[#out + 1] = field(fields, 'attempt') or ''
  out[#out + 1] = tostring(base_deliveries(fields) + counter - 1)
  taken = taken + 1
end

-- XAUTOCLAIM scans a bounded slice of the pending list per call: a few calls cover a long list.
local cursor = '0-0'
for _ = 1, 10 do
  if taken >= max then
    break
  end
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, ARGV[4], cursor, 'COUNT', max - taken)
  cursor = claimed[1]
  for _, entry in ipairs(claimed[2]) do
    -- Redis 6.2 reports entries deleted from the stream as nil (false here); later versions leave them out.
    if entry then
      local pending = redis.call('XPENDING', KEYS[1], group, entry[1], entry[1], 1)
      push(entry, pending[1] and pending[1][4] or 1)
    end
  end
  if cursor == '0-0' then
    break
  end
end

if taken < max then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - taken, 'STREAMS', KEYS[1], '>')
  if read then
    for _, entry in ipairs(read[1][2]) do
      push(entry, 1)
    end
  end
end

local next_due = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if next_due[2] then
  out[1] = next_due[2]
end
return out
