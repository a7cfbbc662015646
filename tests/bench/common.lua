-- Shared by the wrk scripts of tests/bench (loaded with dofile from each):
-- POST with Content-Type: application/json, and done(), which prints one
-- machine-readable line that tests/bench/run reads:
--   WRK requests=N duration_us=N rps=X p50_us=N p90_us=N p99_us=N max_us=N
--       non2xx=N connect=N read=N write=N timeout=N
-- non2xx is wrk's errors.status: answers with a status above 399 (wrk counts
-- nothing else; rollupd and the nginx baseline send no 1xx or 3xx here).

wrk.method = "POST"
wrk.path = "/notifications"
wrk.headers["Content-Type"] = "application/json"

-- One notification as README §Input accepts it. Priority 2 is HIGH.
function notification(user, prio)
  return string.format('{"Email":"u%d@example.com","Notification":"n","Priority":%d}', user, prio)
end

-- Numbers each thread (0, 1, …) so each can seed its generator or take its
-- own range of users.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
