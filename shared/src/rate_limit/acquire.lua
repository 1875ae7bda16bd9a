-- Takes `cost` calls of one budget, or says how long to wait. Atomic: one script, Redis server
-- time, every key of a budget under one hash tag (Redis Cluster safe).
--
-- The log holds one entry per granted call unit, scored with the latest moment the provider can
-- have counted it: while the call is in flight, its grant + the unreported allowance (timeout +
-- grace) + margin; once its response is reported, the report's time + margin (report.lua). A
-- call is granted at `now` when, for every live declaration (calls, window) of this budget, the
-- entries scored at or after `now - window` plus `cost` stay within `calls`. Since a call
-- arrives after its grant and no later than its score, no window of the provider's ever holds
-- more than `calls` arrivals, however late each one arrives.
--
-- A log entry at score -1 (the anchor) lives as long as the state: a state or log found missing
-- means Redis lost them, and the caller rebuilds them (restore.lua) before anything is granted.
--
-- KEYS[1] log (zset), KEYS[2] in-flight calls (zset), KEYS[3] state (hash), KEYS[4] declarations
-- ARGV[1] calls, ARGV[2] window ms, ARGV[3] margin ms, ARGV[4] cost, ARGV[5] reserved calls,
-- ARGV[6] priority (0 interactive, 1 background), ARGV[7] quota limit (0: none),
-- ARGV[8..11] four consecutive local midnights in the quota's zone, ms (the period is the one
-- holding Redis time), ARGV[12] now ms (0: TIME), ARGV[13] adaptive (1|0), ARGV[14] probe
-- timeout ms, ARGV[15] unreported allowance ms (0: grant-time accounting), ARGV[16] this
-- process's declaration "calls/window_ms", ARGV[17] state TTL ms, ARGV[18] declaration TTL ms
-- Returns {granted (1|0), wait ms, reason, grant member prefix, now ms, score}; reasons: 0 ok,
-- 1 cooldown, 2 circuit open, 3 window full, 4 quota exhausted, 5 state missing (restore it),
-- 6 recovering (state was lost; waiting out a window)
local now = tonumber(ARGV[12])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if redis.call('EXISTS', KEYS[1], KEYS[3]) < 2 then
  return {0, 0, 5, '', now, 0}
end
local state = redis.call('HMGET', KEYS[3], 'cooldown_until', 'adaptive_limit', 'open_until',
  'probe_until', 'locked_until', 'max_window', 'quota_period', 'quota_used', 'epoch')

local locked = tonumber(state[5]) or 0
local cooldown = tonumber(state[1]) or 0
if cooldown > now and cooldown >= locked then
  return {0, cooldown - now, 1, '', now, 0}
end
if locked > now then
  return {0, locked - now, 6, '', now, 0}
end

local open_until = tonumber(state[3]) or 0
local probing = false
if open_until > 0 then
  if now < open_until then
    return {0, open_until - now, 2, '', now, 0}
  end
  local probe_until = tonumber(state[4]) or 0
  if probe_until > now then
    return {0, probe_until - now, 2, '', now, 0}
  end
  probing = true
end

local cost = tonumber(ARGV[4])
local quota_limit = tonumber(ARGV[7])
local period, quota_used = 0, 0
if quota_limit > 0 then
  local reset = tonumber(ARGV[10])
  period = tonumber(ARGV[9])
  for i = 8, 10 do
    local from, to = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
    if now >= from and now < to then
      period, reset = from, to
    end
  end
  if tonumber(state[7]) == period then
    quota_used = tonumber(state[8]) or 0
  end
  if quota_used + cost > quota_limit then
    return {0, math.max(reset - now, 1), 4, '', now, 0}
  end
end

-- Every live declaration of this budget must hold: the strictest wins.
redis.call('HSET', KEYS[4], ARGV[16], now)
local decl_ttl = tonumber(ARGV[18])
local declared = redis.call('HGETALL', KEYS[4])
local limits = {}
local max_window = tonumber(state[6]) or 0
for i = 1, #declared, 2 do
  local seen = tonumber(declared[i + 1])
  if seen < now - decl_ttl then
    redis.call('HDEL', KEYS[4], declared[i])
  else
    local slash = string.find(declared[i], '/', 1, true)
    local calls = tonumber(string.sub(declared[i], 1, slash - 1))
    local window = tonumber(string.sub(declared[i], slash + 1))
    if ARGV[13] == '1' and state[2] then
      calls = math.min(calls, math.floor(tonumber(state[2])))
    end
    if ARGV[6] == '1' then
      calls = calls - tonumber(ARGV[5])
    end
    limits[#limits + 1] = {calls, window}
    if window > max_window then
      max_window = window
    end
  end
end

-- Entries past every window can no longer share one with a new call.
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, '(' .. (now - max_window))
redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, '(' .. (now - max_window))

local margin = tonumber(ARGV[3])
local flying = nil
local wait = 0
for _, l in ipairs(limits) do
  local calls, window = l[1], l[2]
  if calls < cost then
    wait = math.max(wait, window)
  else
    local from = now - window
    local count = redis.call('ZCOUNT', KEYS[1], from, '+inf')
    if count + cost > calls then
      -- When the k-th entry leaves, taking each call still in flight as if it were reported
      -- now (the earliest its slot can free): a lower bound, so nobody waits longer than
      -- needed, and the script decides again then.
      if not flying then
        flying = {}
        for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          flying[m] = true
        end
      end
      local soonest = now + margin
      local entries = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES')
      local leaves = {}
      for j = 1, #entries, 2 do
        local score = tonumber(entries[j + 1])
        if flying[entries[j]] and score > soonest then
          score = soonest
        end
        leaves[#leaves + 1] = score
      end
      table.sort(leaves)
      wait = math.max(wait, leaves[count + cost - calls] + window + 1 - now)
    end
  end
end
if wait > 0 then
  return {0, math.max(wait, 1), 3, '', now, 0}
end

local allowance = tonumber(ARGV[15])
local score = now + allowance + margin
local last = redis.call('HINCRBY', KEYS[3], 'seq', cost)
local prefix = state[9] .. ':'
for i = last - cost + 1, last do
  redis.call('ZADD', KEYS[1], score, prefix .. i)
  if allowance > 0 then
    redis.call('ZADD', KEYS[2], score, prefix .. i)
  end
end
redis.call('HSET', KEYS[3], 'max_window', max_window)
if quota_limit > 0 then
  redis.call('HSET', KEYS[3], 'quota_period', period, 'quota_used', quota_used + cost)
end
if probing then
  redis.call('HSET', KEYS[3], 'probe_until', now + tonumber(ARGV[14]))
end
local ttl = tonumber(ARGV[17])
for i = 1, 4 do
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return {1, 0, 0, prefix .. last, now, score}
