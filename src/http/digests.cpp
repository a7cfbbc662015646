// GET /v1/digests, GET /v1/digests/{id} (SPEC §4.2).
#include "handler_support.hpp"
#include "rollupd/core/codec.hpp"
#include "rollupd/core/decode.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

void handle_get_digest(const services& s, handler_input in, respond done) {
  s.agg.get_digest(in.params.at(0), detail::reply_with<digest>(std::move(done), [](const digest& d) {
    return json_response(bhttp::status::ok, to_json(d));
  }));
}

void handle_list_digests(const services& s, handler_input in, respond done) {
  auto limit = detail::page_limit(in.tgt);
  if (!limit) return done(problem_response(limit.err()));
  std::optional<std::string> email;
  if (auto raw = in.tgt.param("email"); raw && !raw->empty()) {
    auto cid = correlation_id_of(*raw);
    if (!cid)
      return done(problem_response({errc::validation_failed,
                                    "query parameter email " + cid.err().detail,
                                    {field_error{-1, "email", cid.err().detail}}}));
    email = std::move(*cid);
  }
  const std::size_t n = *limit;
  s.agg.list_digests(std::move(email), in.tgt.param("after").value_or(""), n,
                     detail::reply_with<std::vector<digest>>(std::move(done), [n](const std::vector<digest>& ds) {
                       json list = json::array();
                       for (const auto& d : ds) list.push_back(to_json(d));
                       json next = ds.size() >= n && !ds.empty() ? json(ds.back().id) : json(nullptr);
                       return json_response(bhttp::status::ok,
                                            json{{"Digests", std::move(list)}, {"Next", std::move(next)}});
                     }));
}

}  // namespace rollup::http
