-- Records a verified delivery: its id (SET NX, expiring when the dedup window from `now` ends) and, when it has a body, the delivery
-- (a hash, due now, indexed as pending), or nothing when the id is already recorded. Answers 1 (recorded) or 0.
-- KEYS  1 seen id, 2 delivery hash, 3 due zset, 4 pending index
-- ARGV  id expiry (unix ms), has body ("1"/"0"), id, project id, project slug, delivery id, event, body, now ms
if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PXAT', ARGV[1]) then
  return 0
end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[2], 'project_id', ARGV[4], 'project_slug', ARGV[5], 'delivery_id', ARGV[6],
    'event', ARGV[7], 'body', ARGV[8], 'state', 'pending', 'attempts', '0', 'received_at', ARGV[9], 'due_at', ARGV[9])
  redis.call('ZADD', KEYS[3], ARGV[9], ARGV[3])
  redis.call('ZADD', KEYS[4], 0, ARGV[3])
end
return 1
