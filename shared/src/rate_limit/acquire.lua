-- Takes `cost` calls of one provider's budget, or says how long to wait. Atomic: one script,
-- Redis server time, every key of a provider under one hash tag (Redis Cluster safe).
--
-- The budget is a sliding log: the grant times of the calls made in the last
-- window + margin. A grant keeps every span of window + margin to at most `limit` calls, so
-- however late each call reaches the provider (up to `margin`), the provider never sees more
-- than `limit` in any rolling window.
--
-- KEYS[1] log (sorted set of grant times), KEYS[2] grant sequence, KEYS[3] state hash,
-- KEYS[4] calendar quota counter (ignored when the quota limit is 0)
-- ARGV[1] limit, ARGV[2] window ms, ARGV[3] margin ms, ARGV[4] cost,
-- ARGV[5] calls reserved for interactive work, ARGV[6] priority (0 interactive, 1 background),
-- ARGV[7] quota limit (0: none), ARGV[8] ms until the quota resets, ARGV[9] now ms (0: TIME),
-- ARGV[10] adaptive (1: honour the adapted limit), ARGV[11] probe timeout ms
-- Returns {granted (1|0), wait ms, reason (0 ok, 1 cooldown, 2 circuit open, 3 window full,
--          4 quota exhausted)}
local now = tonumber(ARGV[9])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[3], 'cooldown_until', 'adaptive_limit', 'open_until', 'probe_until')

local cooldown = tonumber(state[1]) or 0
if cooldown > now then
  return {0, cooldown - now, 1}
end

local open_until = tonumber(state[3]) or 0
local probing = false
if open_until > 0 then
  if now < open_until then
    return {0, open_until - now, 2}
  end
  local probe_until = tonumber(state[4]) or 0
  if probe_until > now then
    return {0, probe_until - now, 2}
  end
  probing = true
end

local limit = tonumber(ARGV[1])
if ARGV[10] == '1' and state[2] then
  limit = math.min(limit, math.floor(tonumber(state[2])))
end
if ARGV[6] == '1' then
  limit = limit - tonumber(ARGV[5])
end
local window = tonumber(ARGV[2])
local horizon = window + tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
if limit < cost then
  return {0, horizon, 3}
end

local quota_limit = tonumber(ARGV[7])
if quota_limit > 0 then
  local used = tonumber(redis.call('GET', KEYS[4]) or '0')
  if used + cost > quota_limit then
    return {0, math.max(tonumber(ARGV[8]), 1), 4}
  end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - horizon)
local count = redis.call('ZCARD', KEYS[1])
if count + cost <= limit then
  for _ = 1, cost do
    local seq = redis.call('INCR', KEYS[2])
    redis.call('ZADD', KEYS[1], now, seq)
  end
  redis.call('PEXPIRE', KEYS[1], horizon)
  redis.call('PEXPIRE', KEYS[2], horizon)
  if quota_limit > 0 then
    redis.call('INCRBY', KEYS[4], cost)
    redis.call('PEXPIRE', KEYS[4], math.max(tonumber(ARGV[8]), 1))
  end
  if probing then
    redis.call('HSET', KEYS[3], 'probe_until', now + tonumber(ARGV[11]))
  end
  return {1, 0, 0}
end

-- Full: wait until enough of the oldest grants leave the horizon.
local k = count + cost - limit
local entry = redis.call('ZRANGE', KEYS[1], k - 1, k - 1, 'WITHSCORES')
local wait = tonumber(entry[2]) + horizon - now
return {0, math.max(wait, 1), 3}
