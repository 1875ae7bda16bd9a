-- Rebuilds a budget's state after Redis lost it, from what Postgres kept. Runs while the
-- caller holds the budget's row lock in Postgres, so one process restores and the others
-- find the state back.
--
-- KEYS[1] log, KEYS[2] in-flight calls, KEYS[3] state hash
-- ARGV[1] now ms, ARGV[2] grant nothing before this if the log is gone (0: the durable entries
-- below are the whole log, or the budget was never used), ARGV[3] cooldown end ms (0: none),
-- ARGV[4] adapted limit (-1: none), ARGV[5] quota period start ms, ARGV[6] calls spent in that
-- period, ARGV[7] state TTL ms, ARGV[8] longest window ms, ARGV[9..] durable log entries as
-- pairs (member, score)
-- Returns 1 when it rebuilt something, 0 when another process had already.
local now = tonumber(ARGV[1])
local has_log = redis.call('EXISTS', KEYS[1]) == 1
local has_state = redis.call('EXISTS', KEYS[3]) == 1
if has_log and has_state then
  return 0
end
local ttl = tonumber(ARGV[7])
if not has_state then
  redis.call('HSET', KEYS[3], 'epoch', now, 'seq', 0, 'max_window', ARGV[8],
    'quota_period', ARGV[5], 'quota_used', ARGV[6])
  if tonumber(ARGV[3]) > now then
    redis.call('HSET', KEYS[3], 'cooldown_until', ARGV[3])
  end
  if tonumber(ARGV[4]) >= 1 then
    redis.call('HSET', KEYS[3], 'adaptive_limit', ARGV[4])
  end
end
if not has_log then
  redis.call('ZADD', KEYS[1], -1, 'anchor')
  for i = 9, #ARGV, 2 do
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  end
  local locked = tonumber(ARGV[2])
  if locked > now then
    local current = tonumber(redis.call('HGET', KEYS[3], 'locked_until') or '0')
    redis.call('HSET', KEYS[3], 'locked_until', math.max(current, locked))
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
