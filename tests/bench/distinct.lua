-- Scenario 3: USERS distinct users, one LOW notification each. Thread i of
-- THREADS sends users [i*USERS/THREADS, (i+1)*USERS/THREADS) in order, once;
-- run it twice on the same daemon for "then each user again".
--   wrk -t2 -c64 -d600s -s tests/bench/distinct.lua URL -- USERS THREADS MARKDIR
--
-- wrk runs for its whole -d, so the end of a pass is decided outside it:
-- when a thread has handed out its last user it creates MARKDIR/done.<i>,
-- and each of its connections, once its last POST is answered, waits
-- (delay() returns ten minutes) instead of sending more. Whoever runs wrk
-- (tests/bench/run) then waits until rollupd has accepted every notification
-- of the pass (rollupd_notifications_accepted_total in GET /metrics) and sends
-- wrk SIGINT, which ends its sleep: wrk then reports the POSTs only, over the
-- real duration of the pass (plus up to ~0.1 s for its threads to notice).
-- Stopping the threads from Lua (wrk.thread:stop()) instead would drop the
-- requests still in flight: the process exits with answers unread, the
-- kernel resets those connections, and a request can be lost before rollupd
-- reads it.
--
-- wrk calls delay() before every request() it sends (a script with delay()
-- gets it for each request), but it also calls request() once, in thread 0,
-- only to check the request it builds; that one is never sent. So a user is
-- taken in delay() and only sent by the request() that follows; a request()
-- with no user taken for it (the check) gets a GET that is never sent.
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./") .. "common.lua")

local next_user, last_user, taken, markdir
local marked = false

function init(args)
  local users = tonumber(args[1])
  local threads = tonumber(args[2])
  markdir = args[3]
  next_user = math.floor(id * users / threads)
  last_user = math.floor((id + 1) * users / threads) - 1
  taken = next_user  -- users below this are promised to a request()
end

function delay()
  if taken > last_user then
    if not marked then
      marked = true
      local f = io.open(markdir .. "/done." .. id, "w")
      if f then f:close() end
    end
    return 600000
  end
  taken = taken + 1
  return 0
end

function request()
  if next_user >= taken then
    return wrk.format("GET", "/livez", {}, nil)
  end
  local u = next_user
  next_user = next_user + 1
  return wrk.format(nil, nil, nil, notification(u, 0))
end
