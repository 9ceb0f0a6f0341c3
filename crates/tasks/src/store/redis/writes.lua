-- The first half of create.lua and update.lua: reads the pipeline write's arguments in order and defines
-- apply_writes(), which carries out its `Writes`. Argument layout (built by `RedisStore::pipeline_write`):
--
-- KEYS  1 pipeline hash, 2 job -> pipeline hash, 3 idempotency hash, 4..7 the pipeline's list indexes (all, project,
--       status, status+project), 8 queue stream, 9 delayed zset, 10 events stream, 11 outbox payloads,
--       12 outbox attempts, 13 outbox due zset; then the other statuses' indexes; then one key per stop flag.
-- ARGV  id, doc, check (create: idempotency field or ""; update: expected version), next version, now ms,
--       events maxlen, stop ttl ms, #jobs, job ids..., #other indexes, #enqueue, (pipeline, job, attempt,
--       not before ms or "")..., #stop, #events, (project, pipeline, payload)..., outbox ("0" | "1", id, payload,
--       attempts, due ms).

local argi, keyi = 0, 13
local function arg()
  argi = argi + 1
  return ARGV[argi]
end
local function key()
  keyi = keyi + 1
  return KEYS[keyi]
end

local id, doc, check, next_version = arg(), arg(), arg(), arg()
local now, events_maxlen, stop_ttl = tonumber(arg()), arg(), arg()
local jobs = {}
for i = 1, tonumber(arg()) do
  jobs[i] = arg()
end
local other_indexes = {}
for i = 1, tonumber(arg()) do
  other_indexes[i] = key()
end

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
    local project, pipeline, payload = arg(), arg(), arg()
    redis.call('XADD', KEYS[10], 'MAXLEN', '~', events_maxlen, '*',
      'project', project, 'pipeline', pipeline, 'payload', payload)
  end
  if arg() == '1' then
    local outbox_id, payload, attempts, due = arg(), arg(), arg(), arg()
    redis.call('HSET', KEYS[11], outbox_id, payload)
    redis.call('HSET', KEYS[12], outbox_id, attempts)
    redis.call('ZADD', KEYS[13], due, outbox_id)
  end
end
