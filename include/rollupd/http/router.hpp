#pragma once
// Method + target -> handler (SPEC §4.1, §4.2). Unknown path: 404; known
// path with another method: 405 with Allow. Checks the token (SPEC §4.4)
// and refuses new work while draining.

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "rollupd/http/response.hpp"
#include "rollupd/http/server_options.hpp"
#include "rollupd/http/uri.hpp"

namespace rollup {
class aggregator;
class time_source;
}  // namespace rollup

namespace rollup::http {

// What handlers may use. Owned by the server; outlives every request.
struct services {
  aggregator& agg;
  const time_source& clock;
  const server_options& options;
  const std::atomic<bool>& draining;
};

// One routed request, owned by its handler.
struct handler_input {
  request req;
  target tgt;
  std::vector<std::string> params;  // the {…} segments of the route, decoded, in order
};

using handler_fn = void (*)(const services&, handler_input, respond);

class router {
 public:
  explicit router(const services& s) : services_(s) {}

  // Answers `req` through `done`: exactly once, now or later, from any
  // thread. Never throws. Returns the route's pattern for the metrics (e.g.
  // "/v1/aggregations/{email}"), or "unmatched". While the server drains,
  // a request is refused with 503 unless `admitted`: it began to arrive
  // before the drain, so it is in flight and is served.
  std::string_view dispatch(request req, bool admitted, respond done) const;

  // The pattern of the route `method` `target` would take, or "unmatched".
  static std::string_view route_of(boost::beast::http::verb method, std::string_view target);

 private:
  const services& services_;
};

}  // namespace rollup::http
