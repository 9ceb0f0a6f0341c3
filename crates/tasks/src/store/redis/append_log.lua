-- append_log: adds the lines at offsets not stored yet, as entries `0-<offset + 1>`, trims to the newest `maxlen`
-- and refreshes the attempt's time to live. The total counter survives trimming.
-- KEYS  1 log stream, 2 total counter
-- ARGV  1 first line's offset, 2 maxlen, 3 ttl ms, 4.. lines

local stored = tonumber(redis.call('GET', KEYS[2]) or '') or 0
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if newest[1] then
  local seq = tonumber(string.match(newest[1][1], '^0%-(%d+)$') or '') or 0
  if seq > stored then
    stored = seq
  end
end

local offset = tonumber(ARGV[1])
for i = 4, #ARGV do
  local at = offset + i - 4
  if at >= stored then
    redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], string.format('0-%d', at + 1), 'line', ARGV[i])
  end
end

local total = offset + #ARGV - 3
if stored > total then
  total = stored
end
redis.call('SET', KEYS[2], string.format('%d', total), 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return total
