-- Scenarios 1, 2 (and the null baseline, which gets the same load): one
-- notification per request for a user drawn uniformly from USERS, HIGH
-- (Priority 2) with probability HIGH_PERCENT, else LOW.
--   wrk -t2 -c64 -d10s -s tests/bench/uniform.lua URL -- USERS HIGH_PERCENT
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./") .. "common.lua")

local users, high = 10000, 5

function init(args)
  users = tonumber(args[1] or users)
  high = tonumber(args[2] or high)
  math.randomseed(1000 + (id or 0))
end

function request()
  local prio = 0
  if math.random() * 100 < high then prio = 2 end
  return wrk.format(nil, nil, nil, notification(math.random(0, users - 1), prio))
end
