-- release (after entry.lua and held.lua): replaces a held entry by a copy at the end of the stream, ready at once,
-- whose delivery number is one more; 1, or 0 when the consumer no longer held it (nothing changed).

local fields, next_delivery = held()
if not fields then
  return 0
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[1], '*', 'pipeline', field(fields, 'pipeline') or '', 'job', field(fields, 'job') or '',
  'attempt', field(fields, 'attempt') or '', 'deliveries', tostring(next_delivery))
return 1
