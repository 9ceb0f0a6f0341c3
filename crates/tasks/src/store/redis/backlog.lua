-- For the gauges, in one snapshot: when the queue's oldest ready entry became ready, and the deployment outbox's size.
-- KEYS 1 queue stream, 2 delayed zset, 3 outbox due zset. ARGV 1 the workers' consumer group, 2 now (ms).
-- Returns {ms of the oldest ready entry or -1, outbox entries}. Ready: in the stream past the group's last delivered
-- id (its id's time is when it was added), or delayed and due (its score is when it came due).

local oldest = -1
local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
if ok then
  for _, g in ipairs(groups) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then
        name = g[i + 1]
      elseif g[i] == 'last-delivered-id' then
        last = g[i + 1]
      end
    end
    if name == ARGV[1] and last then
      local first = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
      if first[1] then
        oldest = tonumber(string.match(first[1][1], '^(%d+)'))
      end
    end
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, 1)
if due[2] then
  local at = tonumber(due[2])
  if oldest < 0 or at < oldest then
    oldest = at
  end
end
return {oldest, redis.call('ZCARD', KEYS[3])}
