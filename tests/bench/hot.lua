-- Scenario 4: every request is for the same user, LOW priority, so every
-- third completes the user's group (max_notifications = 3) and the rest queue
-- behind one another on that user's strand.
--   wrk -t2 -c64 -d10s -s tests/bench/hot.lua URL
-- The body never changes, but it is built by request() as in uniform.lua, so
-- wrk spends the same per request as it does against the null baseline (a
-- static wrk.body would be cheaper for wrk and flatter the ratio).
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format(nil, nil, nil, notification(0, 0))
end
