-- renew (after entry.lua and held.lua): resets the entry's idle time while the consumer holds it; 1 or 0.
-- JUSTID leaves the group's delivery counter alone, so the delivery number stays the same.

if not held() then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
