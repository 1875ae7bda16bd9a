-- Records how a granted call went, for every worker to see: when its slot leaves the window,
-- the circuit breaker, the cooldown after a 429 or quota error, and the adapted limit of
-- providers that publish none.
--
-- A call whose response came back was counted by the provider by now at the latest, so its
-- entries are re-scored to now + margin (never later than they were: ZADD XX LT). A call that
-- got no response (timeout, connection failure) keeps its in-flight score.
--
-- KEYS[1] log, KEYS[2] in-flight calls, KEYS[3] state hash
-- ARGV[1] outcome ('ok' | 'rejected' | 'transient' | 'throttled' | 'quota'), ARGV[2] wait ms
-- (throttled, quota), ARGV[3] consecutive failures that open the circuit, ARGV[4] how long it
-- stays open (ms), ARGV[5] configured limit (the adaptive ceiling), ARGV[6] adaptive (1|0),
-- ARGV[7] now ms (0: TIME), ARGV[8] the grant's member prefix and last sequence number
-- ("epoch:seq"; empty: no grant), ARGV[9] cost, ARGV[10] margin ms, ARGV[11] answered (1|0),
-- ARGV[12] state TTL ms
-- Returns {state kept (1|0), cooldown end ms (0: none set), adapted limit (-1: none)}
local now = tonumber(ARGV[7])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local grant = ARGV[8]
if grant ~= '' then
  local colon = string.find(grant, ':', 1, true)
  local epoch = string.sub(grant, 1, colon)
  local last = tonumber(string.sub(grant, colon + 1))
  for i = last - tonumber(ARGV[9]) + 1, last do
    redis.call('ZREM', KEYS[2], epoch .. i)
    if ARGV[11] == '1' then
      redis.call('ZADD', KEYS[1], 'XX', 'LT', now + tonumber(ARGV[10]), epoch .. i)
    end
  end
end

local outcome = ARGV[1]
local cool_until = 0
if outcome == 'throttled' or outcome == 'quota' then
  cool_until = now + tonumber(ARGV[2])
end
-- A lost state is not recreated here: a partial one would hide the loss from acquire.lua. The
-- caller keeps the cooldown in Postgres; the restore brings it back.
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {0, cool_until, -1}
end
local ceiling = tonumber(ARGV[5])
local adapted = -1

if outcome == 'ok' then
  redis.call('HDEL', KEYS[3], 'failures', 'open_until', 'probe_until')
  if ARGV[6] == '1' then
    local current = tonumber(redis.call('HGET', KEYS[3], 'adaptive_limit'))
    if current then
      -- Creep back: a whole call per `current` successes, about one window's worth.
      local raised = current + 1 / math.max(current, 1)
      if raised >= ceiling then
        redis.call('HDEL', KEYS[3], 'adaptive_limit')
      else
        redis.call('HSET', KEYS[3], 'adaptive_limit', tostring(raised))
      end
    end
  end
elseif outcome == 'transient' then
  local failures = redis.call('HINCRBY', KEYS[3], 'failures', 1)
  local probing = tonumber(redis.call('HGET', KEYS[3], 'open_until') or '0') > 0
  if failures >= tonumber(ARGV[3]) or probing then
    redis.call('HSET', KEYS[3], 'open_until', now + tonumber(ARGV[4]), 'failures', 0)
    redis.call('HDEL', KEYS[3], 'probe_until')
  end
elseif outcome == 'throttled' or outcome == 'quota' then
  local current = tonumber(redis.call('HGET', KEYS[3], 'cooldown_until') or '0')
  if cool_until > current then
    redis.call('HSET', KEYS[3], 'cooldown_until', cool_until)
  end
  if outcome == 'throttled' and ARGV[6] == '1' then
    local limit = tonumber(redis.call('HGET', KEYS[3], 'adaptive_limit') or ceiling)
    adapted = math.max(1, math.floor(limit * 0.8))
    redis.call('HSET', KEYS[3], 'adaptive_limit', tostring(adapted))
  end
  -- A throttled probe says nothing about health: let the next caller probe.
  redis.call('HDEL', KEYS[3], 'probe_until')
end
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[12]))
return {1, cool_until, adapted}
