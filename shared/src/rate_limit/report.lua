-- Records how a call went, for every worker to see: the circuit breaker, the cooldown after a
-- 429 or quota error, and the adapted limit of providers that publish none.
--
-- KEYS[1] state hash
-- ARGV[1] outcome ('ok' | 'transient' | 'throttled' | 'quota'), ARGV[2] wait ms (throttled, quota),
-- ARGV[3] consecutive failures that open the circuit, ARGV[4] how long it stays open (ms),
-- ARGV[5] configured limit (the adaptive ceiling), ARGV[6] adaptive (1|0), ARGV[7] now ms (0: TIME)
local now = tonumber(ARGV[7])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local outcome = ARGV[1]
local ceiling = tonumber(ARGV[5])

if outcome == 'ok' then
  redis.call('HDEL', KEYS[1], 'failures', 'open_until', 'probe_until')
  if ARGV[6] == '1' then
    local current = tonumber(redis.call('HGET', KEYS[1], 'adaptive_limit'))
    if current then
      -- Creep back: a whole call per `current` successes, about one window's worth.
      local raised = current + 1 / math.max(current, 1)
      if raised >= ceiling then
        redis.call('HDEL', KEYS[1], 'adaptive_limit')
      else
        redis.call('HSET', KEYS[1], 'adaptive_limit', tostring(raised))
      end
    end
  end
elseif outcome == 'transient' then
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  local probing = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0') > 0
  if failures >= tonumber(ARGV[3]) or probing then
    redis.call('HSET', KEYS[1], 'open_until', now + tonumber(ARGV[4]), 'failures', 0)
    redis.call('HDEL', KEYS[1], 'probe_until')
  end
elseif outcome == 'throttled' or outcome == 'quota' then
  local cool_until = now + tonumber(ARGV[2])
  local current = tonumber(redis.call('HGET', KEYS[1], 'cooldown_until') or '0')
  if cool_until > current then
    redis.call('HSET', KEYS[1], 'cooldown_until', cool_until)
  end
  if outcome == 'throttled' and ARGV[6] == '1' then
    local limit = tonumber(redis.call('HGET', KEYS[1], 'adaptive_limit') or ceiling)
    redis.call('HSET', KEYS[1], 'adaptive_limit', tostring(math.max(1, math.floor(limit * 0.8))))
  end
  -- A throttled probe says nothing about health: let the next caller probe.
  redis.call('HDEL', KEYS[1], 'probe_until')
end
redis.call('PEXPIRE', KEYS[1], 7 * 86400 * 1000)
return 1
