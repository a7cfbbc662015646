-- Scenario 5: each request is a JSON array of BATCH notifications (default
-- 100), users uniform over USERS, each HIGH with probability HIGH_PERCENT.
--   wrk -t2 -c64 -d10s -s tests/bench/array.lua URL -- USERS HIGH_PERCENT BATCH
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./") .. "common.lua")

local users, high, batch = 10000, 5, 100

function init(args)
  users = tonumber(args[1] or users)
  high = tonumber(args[2] or high)
  batch = tonumber(args[3] or batch)
  math.randomseed(2000 + (id or 0))
end

function request()
  local items = {}
  for i = 1, batch do
    local prio = 0
    if math.random() * 100 < high then prio = 2 end
    items[i] = notification(math.random(0, users - 1), prio)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(items, ",") .. "]")
end
