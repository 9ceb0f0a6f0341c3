-- The first half of create.lua and update.lua: reads the pipeline write's arguments in order and defines
-- index_jobs() and apply_writes(), which carries out its `Writes`. Argument layout (built by `pipeline_write` in
-- pipelines.rs):
--
-- KEYS  1 pipeline hash, 2 job -> pipeline hash, 3 idempotency hash, 4..7 the pipeline's list indexes (all, project,
--       status, status+project), 8 queue stream, 9 delayed zset, 10 events stream, 11 outbox payloads,
--       12 outbox attempts, 13 outbox due zset, 14 metrics stream, 15 run counters hash, 16 the project's run number
--       -> pipeline hash; then two indexes (status, status+project) per other status; then one key per stop flag.
-- ARGV  id, doc, check (create: idempotency field or ""; update: expected version), next version, status, project,
--       now ms,
--       events maxlen, stop ttl ms, consumer group, #jobs, job ids..., #other statuses, their names...,
--       #enqueue, (pipeline, job, attempt, not before ms or "")..., #stop, #events, (project, pipeline, payload)...,
--       outbox ("0" | "1", id, payload, attempts, due ms), #metrics, (kind, payload)..., #ack, queue entry ids...

local argi, keyi = 0, 16
local function arg()
  argi = argi + 1
  return ARGV[argi]
end
local function key()
  keyi = keyi + 1
  return KEYS[keyi]
end

local id, doc, check, next_version, status, project = arg(), arg(), arg(), arg(), arg(), arg()
local now, events_maxlen, stop_ttl, group = tonumber(arg()), arg(), arg(), arg()
local jobs = {}
for i = 1, tonumber(arg()) do
  jobs[i] = arg()
end
local other_statuses, other_indexes = {}, {}
for i = 1, tonumber(arg()) do
  other_statuses[i] = arg()
  other_indexes[i] = { key(), key() }
end

-- Appended to the payload of each event about this pipeline (an encoded Event): set by the create to the bytes of
-- `Event { pipeline { number } }`, which protobuf merges into the event's pipeline (`store::number_stamp`).
local event_stamp = ''

local function index_jobs()
  for _, job in ipairs(jobs) do
    redis.call('HSET', KEYS[2], job, id)
  end
end

local function apply_writes()
  for _ = 1, tonumber(arg()) do
    local pipeline, job, attempt, not_before = arg(), arg(), arg(), arg()
    if not_before ~= '' and tonumber(not_before) > now then
      redis.call('ZADD', KEYS[9], not_before, pipeline .. ' ' .. job .. ' ' .. attempt)
    else
      redis.call('XADD', KEYS[8], '*', 'pipeline', pipeline, 'job', job, 'attempt', attempt, 'deliveries', '1')
    end
  end
  for _ = 1, tonumber(arg()) do
    redis.call('SET', key(), '1', 'PX', stop_ttl)
  end
  for _ = 1, tonumber(arg()) do
    local event_project, pipeline, payload = arg(), arg(), arg()
    if pipeline == id then
      payload = payload .. event_stamp
    end
    redis.call('XADD', KEYS[10], 'MAXLEN', '~', events_maxlen, '*',
      'project', event_project, 'pipeline', pipeline, 'payload', payload)
  end
  if arg() == '1' then
    local outbox_id, payload, attempts, due = arg(), arg(), arg(), arg()
    redis.call('HSET', KEYS[11], outbox_id, payload)
    redis.call('HSET', KEYS[12], outbox_id, attempts)
    redis.call('ZADD', KEYS[13], due, outbox_id)
  end
  for _ = 1, tonumber(arg()) do
    local kind, payload = arg(), arg()
    redis.call('XADD', KEYS[14], '*', 'kind', kind, 'payload', payload)
  end
  for _ = 1, tonumber(arg()) do
    local entry = arg()
    redis.call('XACK', KEYS[8], group, entry)
    redis.call('XDEL', KEYS[8], entry)
  end
end
