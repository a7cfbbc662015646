// POST /v1/admin/checkpoint (SPEC §4.2).
#include "handler_support.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

// Admin endpoints exist only behind a token: on an open API anyone who can
// reach the port could fill the disk with checkpoints.
void handle_checkpoint(const services& s, handler_input, respond done) {
  if (s.options.api_token.empty())
    return done(
        problem_response({errc::forbidden,
                          "admin endpoints are off while the API is open; set api_token (--api-token) to use them",
                          {}}));
  s.agg.checkpoint(detail::reply_with<std::string>(std::move(done), [](const std::string& path) {
    return json_response(bhttp::status::created, json{{"Path", path}});
  }));
}

}  // namespace rollup::http
