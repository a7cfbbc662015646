// GET /v1/digests, GET /v1/digests/{id}, POST /v1/digests/{id}/redeliver (SPEC §4.2, §5).
#include "handler_support.hpp"
#include "rollupd/core/codec.hpp"
#include "rollupd/core/decode.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

// The digest of SPEC §3 plus "Delivery": where it stands with each sink.
json digest_json(const stored_digest& sd) {
  json j = to_json(sd.d);
  json delivery = json::object();
  for (const auto& st : sd.deliveries) delivery[st.sink] = to_json(st);
  j["Delivery"] = std::move(delivery);
  return j;
}

}  // namespace

void handle_get_digest(const services& s, handler_input in, respond done) {
  s.agg.get_digest(in.params.at(0), detail::reply_with<stored_digest>(std::move(done), [](const stored_digest& d) {
                     return json_response(bhttp::status::ok, digest_json(d));
                   }));
}

void handle_redeliver(const services& s, handler_input in, respond done) {
  s.agg.redeliver(in.params.at(0), detail::reply_with<std::size_t>(std::move(done), [](std::size_t n) {
                    return json_response(bhttp::status::accepted, json{{"Requeued", n}});
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
  s.agg.list_digests(
      std::move(email), in.tgt.param("after").value_or(""), n,
      detail::reply_with<std::vector<stored_digest>>(std::move(done), [n](const std::vector<stored_digest>& ds) {
        json list = json::array();
        for (const auto& d : ds) list.push_back(digest_json(d));
        json next = ds.size() >= n && !ds.empty() ? json(ds.back().d.id) : json(nullptr);
        return json_response(bhttp::status::ok, json{{"Digests", std::move(list)}, {"Next", std::move(next)}});
      }));
}

}  // namespace rollup::http
