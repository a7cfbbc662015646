// GET /v1/aggregations, GET /v1/aggregations/{email},
// POST /v1/aggregations/{email}/flush (SPEC §4.2).
#include "handler_support.hpp"
#include "rollupd/core/codec.hpp"
#include "rollupd/core/decode.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {
namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;

json summary_json(const group_summary& g) {
  return json{{"Email", g.email},
              {"Count", g.count},
              {"FirstReceivedAt", format_rfc3339(g.first_received_at)},
              {"DueAt", detail::time_or_null(g.due_at)}};
}

// The correlation ID of the {email} segment, or the 404 to answer.
result<std::string> correlation_id_param(const handler_input& in) {
  const auto& raw = in.params.at(0);
  auto cid = correlation_id_of(raw);
  if (!cid)
    return error{errc::not_found,
                 "there is no open aggregation for \"" + raw + "\": it is not a valid email (" + cid.err().detail + ")",
                 {}};
  return cid;
}

}  // namespace

void handle_get_aggregation(const services& s, handler_input in, respond done) {
  auto cid = correlation_id_param(in);
  if (!cid) return done(problem_response(cid.err()));
  s.agg.get_group(*cid, detail::reply_with<group_view>(std::move(done), [](const group_view& v) {
    json body = summary_json(v.summary);
    json list = json::array();
    for (const auto& n : v.notifications) list.push_back(to_json(n));
    body["Notifications"] = std::move(list);
    return json_response(bhttp::status::ok, body);
  }));
}

void handle_list_aggregations(const services& s, handler_input in, respond done) {
  auto limit = detail::page_limit(in.tgt);
  if (!limit) return done(problem_response(limit.err()));
  const std::size_t n = *limit;
  s.agg.list_groups(
      in.tgt.param("after").value_or(""), n,
      detail::reply_with<std::vector<group_summary>>(
          std::move(done), [n](const std::vector<group_summary>& groups) {
            json list = json::array();
            for (const auto& g : groups) list.push_back(summary_json(g));
            json next = groups.size() >= n && !groups.empty() ? json(groups.back().email) : json(nullptr);
            return json_response(bhttp::status::ok, json{{"Aggregations", std::move(list)}, {"Next", std::move(next)}});
          }));
}

void handle_flush(const services& s, handler_input in, respond done) {
  auto cid = correlation_id_param(in);
  if (!cid) return done(problem_response(cid.err()));
  s.agg.flush(*cid, detail::reply_with<digest>(std::move(done), [](const digest& d) {
    return json_response(bhttp::status::ok, json{{"Digest", to_json(d)}});
  }));
}

}  // namespace rollup::http
