// GET /livez, GET /readyz (SPEC §4.2).
#include "handler_support.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

void handle_livez(const services&, handler_input, respond done) {
  done(json_response(bhttp::status::ok, json{{"status", "ok"}}));
}

void handle_readyz(const services& s, handler_input, respond done) {
  if (s.draining.load())
    return done(problem_response({errc::draining, "the server is shutting down; send traffic elsewhere", {}}));
  s.agg.check_ready(detail::reply_with<ok_t>(std::move(done), [](const ok_t&) {
    return json_response(bhttp::status::ok, json{{"status", "ready"}});
  }));
}

}  // namespace rollup::http
