"""The Redis backend's two scripts: the rules of `window.py`, run atomically in Redis.

Spend is kept in picodollars as decimal strings and compared as strings, so
sums stay exact past Lua's 2^53 float precision.
"""

from __future__ import annotations

# KEYS: window hashes (nw), then spend counters (nb).
# ARGV: now_ms, nw, nb, span_s; per window: limit, charge; per budget: cap|'', throttle_at|'',
#       throttle_limit, throttle_window (1-based, 0 = none).
# Answers {0 admitted | 1 window full | 2 budget spent, index, (limit, used, reset_ms) per window,
#          spend per budget}; a refusal charges nothing.
ADMIT = """
local now_ms = tonumber(ARGV[1])
local nw, nb, span = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now_s = math.floor(now_ms / 1000)
local function ge(a, b)
  if #a ~= #b then return #a > #b end
  return a >= b
end
local limits, out = {}, {}
for i = 1, nw do limits[i] = tonumber(ARGV[3 + 2 * i]) end
local base = 4 + 2 * nw
local spends = {}
local spent = 0
for j = 1, nb do
  local s = redis.call('GET', KEYS[nw + j]) or '0'
  spends[j] = s
  local o = base + 4 * (j - 1)
  if spent == 0 then
    if ARGV[o + 1] ~= '' and ge(s, ARGV[o + 1]) then
      spent = j
    elseif ARGV[o + 2] ~= '' and ge(s, ARGV[o + 2]) then
      local w, tl = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 3])
      if w > 0 and tl < limits[w] then limits[w] = tl end
    end
  end
end
local used, resets, refused = {}, {}, 0
for i = 1, nw do
  local h = redis.call('HGETALL', KEYS[i])
  local total, oldest, stale = 0, nil, {}
  for k = 1, #h, 2 do
    local sec = tonumber(h[k])
    if sec <= now_s - span then
      stale[#stale + 1] = h[k]
    else
      total = total + tonumber(h[k + 1])
      if oldest == nil or sec < oldest then oldest = sec end
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
  used[i] = total
  resets[i] = ((oldest or now_s) + span) * 1000 - now_ms
  if refused == 0 and total >= limits[i] then refused = i end
end
if refused == 0 and spent == 0 then  -- a spent budget refuses; the windows then only report
  for i = 1, nw do
    local charge = tonumber(ARGV[4 + 2 * i])
    if charge > 0 then
      redis.call('HINCRBY', KEYS[i], now_s, charge)
      redis.call('PEXPIRE', KEYS[i], (span + 2) * 1000)
      used[i] = used[i] + charge
    end
  end
end
if spent > 0 then
  out = {2, spent}
else
  out = {refused > 0 and 1 or 0, refused}
end
for i = 1, nw do
  out[#out + 1] = limits[i]; out[#out + 1] = used[i]; out[#out + 1] = resets[i]
end
for j = 1, nb do out[#out + 1] = spends[j] end
return out
"""

# KEYS: token window hashes (nt), then spend counters (ns).
# ARGV: nt, ns, start_s, now_s, estimate, real, span_s, cost_pico; per spend: ttl_s.
# Answers the spend per counter after adding the cost.
SETTLE = """
local nt, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local start_s, now_s = ARGV[3], ARGV[4]
local estimate, real, span = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local cost = ARGV[8]
for i = 1, nt do
  local k = KEYS[i]
  if estimate > 0 then
    local v = redis.call('HGET', k, start_s)
    if v then
      local left = tonumber(v) - estimate
      if left > 0 then redis.call('HSET', k, start_s, left) else redis.call('HDEL', k, start_s) end
    end
  end
  if real > 0 then
    redis.call('HINCRBY', k, now_s, real)
    redis.call('PEXPIRE', k, (span + 2) * 1000)
  end
end
local out = {}
for j = 1, ns do
  local k = KEYS[nt + j]
  if cost ~= '0' then
    redis.call('INCRBY', k, cost)
    redis.call('EXPIRE', k, tonumber(ARGV[8 + j]))
  end
  out[j] = redis.call('GET', k) or '0'
end
return out
"""

# KEYS: one spend counter. ARGV: picodollars, ttl_s. Raises the counter to at least ARGV[1].
SEED = """
local cur = redis.call('GET', KEYS[1]) or '0'
local v = ARGV[1]
if #v > #cur or (#v == #cur and v > cur) then
  redis.call('SET', KEYS[1], v, 'EX', tonumber(ARGV[2]))
end
return 1
"""
