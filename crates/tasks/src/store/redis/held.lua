-- held(): whether `consumer` still holds this delivery of the entry: the entry is pending for it and its delivery
-- number is unchanged (a lease that lapsed and was taken again, even by the same consumer, is a new delivery).
-- Returns the entry's fields and the delivery number the next delivery would have, or nil.
-- KEYS  1 queue stream
-- ARGV  1 group, 2 consumer, 3 entry id, 4 delivery number

local function held()
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
  if #pending == 0 or pending[1][2] ~= ARGV[2] then
    return nil
  end
  local entry = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
  if #entry == 0 then
    return nil
  end
  local fields = entry[1][2]
  local delivery = base_deliveries(fields) + pending[1][4] - 1
  if tostring(delivery) ~= ARGV[4] then
    return nil
  end
  return fields, delivery + 1
end
