-- Scenario 3: USERS distinct users, one LOW notification each. Thread i of
-- THREADS sends users [i*USERS/THREADS, (i+1)*USERS/THREADS) in order, once;
-- run it twice on the same daemon for "then each user again".
--   wrk -t2 -c64 -d600s -s tests/bench/distinct.lua URL -- USERS THREADS MARKDIR
--
-- wrk runs for its whole -d, so the end of a pass is decided outside it:
-- when a thread has handed out its last user it creates MARKDIR/done.<i>,
-- and each of its connections, once its last POST is answered, gets an empty
-- request: wrk writes nothing, stops watching the socket for writing, and the
-- connection waits for an answer that never comes, sending nothing more.
-- Whoever runs wrk (tests/bench/run) then waits until rollupd has accepted
-- every notification of the pass (rollupd_notifications_accepted_total in GET
-- /metrics) and sends wrk SIGINT: wrk then reports the POSTs only, over the
-- real duration of the pass (plus up to ~0.1 s for its threads to notice).
-- Stopping the threads from Lua (wrk.thread:stop()) instead would drop the
-- requests still in flight: the process exits with answers unread, the
-- kernel resets those connections, and a request can be lost before rollupd
-- reads it.
--
-- The script defines no delay(): with one, wrk sets a timer before every
-- request (a Lua call, a timer event and two epoll_ctl calls each), which made
-- wrk spend about 5 us more CPU a request than with uniform.lua, on the two
-- cores it shares with the server (against nginx, 0.79x uniform.lua's rate).
--
-- wrk calls request() once in thread 0 before it starts, only to check the
-- request it builds; that one is never sent, so thread 0 answers it with a
-- GET and takes no user for it.
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./") .. "common.lua")

local next_user, last_user, markdir
local checked = false

function init(args)
  local users = tonumber(args[1])
  local threads = tonumber(args[2])
  markdir = args[3]
  next_user = math.floor(id * users / threads)
  last_user = math.floor((id + 1) * users / threads) - 1
  checked = id ~= 0
end

function request()
  if not checked then
    checked = true
    return wrk.format("GET", "/livez", {}, nil)
  end
  if next_user > last_user then
    if next_user == last_user + 1 then
      next_user = next_user + 1
      local f = io.open(markdir .. "/done." .. id, "w")
      if f then f:close() end
    end
    return ""
  end
  local u = next_user
  next_user = next_user + 1
  return wrk.format(nil, nil, nil, notification(u, 0))
end
