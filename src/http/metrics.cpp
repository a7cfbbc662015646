// GET /metrics (SPEC §4.2): the registry in the Prometheus text format.
#include "rollupd/http/handlers.hpp"
#include "rollupd/metrics/registry.hpp"

namespace rollup::http {

namespace bhttp = boost::beast::http;

void handle_metrics(const services& s, handler_input, respond done) {
  response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = s.options.metrics->render();
  done(std::move(res));
}

}  // namespace rollup::http
