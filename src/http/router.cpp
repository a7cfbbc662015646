#include "rollupd/http/router.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <string_view>

#include "rollupd/http/auth.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/http/problem.hpp"

namespace rollup::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view any = "{}";  // a path parameter

struct route {
  std::string_view name;  // the pattern, as the metrics label it
  bhttp::verb method;
  std::array<std::string_view, 4> pattern;  // unused slots stay empty
  std::size_t length;
  handler_fn handle;
};

constexpr std::string_view unmatched = "unmatched";

// SPEC §4.1, §4.2.
constexpr std::array routes{
    route{"/notifications", bhttp::verb::post, {"notifications"}, 1, &handle_ingest},
    route{"/v1/notifications", bhttp::verb::post, {"v1", "notifications"}, 2, &handle_ingest},
    route{"/v1/aggregations", bhttp::verb::get, {"v1", "aggregations"}, 2, &handle_list_aggregations},
    route{"/v1/aggregations/{email}", bhttp::verb::get, {"v1", "aggregations", any}, 3, &handle_get_aggregation},
    route{"/v1/aggregations/{email}/flush", bhttp::verb::post, {"v1", "aggregations", any, "flush"}, 4, &handle_flush},
    route{"/v1/digests", bhttp::verb::get, {"v1", "digests"}, 2, &handle_list_digests},
    route{"/v1/digests/{id}", bhttp::verb::get, {"v1", "digests", any}, 3, &handle_get_digest},
    route{"/v1/digests/{id}/redeliver", bhttp::verb::post, {"v1", "digests", any, "redeliver"}, 4, &handle_redeliver},
    route{"/v1/admin/checkpoint", bhttp::verb::post, {"v1", "admin", "checkpoint"}, 3, &handle_checkpoint},
    route{"/livez", bhttp::verb::get, {"livez"}, 1, &handle_livez},
    route{"/readyz", bhttp::verb::get, {"readyz"}, 1, &handle_readyz},
    route{"/metrics", bhttp::verb::get, {"metrics"}, 1, &handle_metrics},
};

// HEAD is served as GET; the session leaves the body out (RFC 9110 §9.3.2).
bool serves(const route& r, bhttp::verb method) {
  return r.method == method || (r.method == bhttp::verb::get && method == bhttp::verb::head);
}

bool matches(const route& r, const std::vector<std::string>& segments, std::vector<std::string>& params) {
  if (segments.size() != r.length) return false;
  params.clear();
  for (std::size_t i = 0; i < r.length; ++i) {
    if (r.pattern[i] == any) {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (r.pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// Served while draining too: they tell the operator what is going on.
bool always_served(handler_fn h) { return h == &handle_livez || h == &handle_readyz || h == &handle_metrics; }

}  // namespace

std::string_view router::route_of(bhttp::verb method, std::string_view target) {
  const auto tgt = parse_target(target);
  if (!tgt) return unmatched;
  std::vector<std::string> params;
  for (const auto& r : routes)
    if (serves(r, method) && matches(r, tgt->segments, params)) return r.name;
  return unmatched;
}

std::string_view router::dispatch(request req, bool admitted, respond done) const {
  // Whatever happens below, `done` runs exactly once.
  auto once = [called = std::make_shared<std::atomic<bool>>(false), done = std::move(done)](response res) {
    if (!called->exchange(true)) done(std::move(res));
  };
  std::string_view label = unmatched;
  try {
    auto tgt = parse_target(std::string_view(req.target().data(), req.target().size()));
    if (!tgt) {
      once(problem_response({errc::bad_request,
                             "the request target must be an absolute path with valid percent-escapes "
                             "(%XX, two hex digits)",
                             {}}));
      return label;
    }
    const route* hit = nullptr;
    std::vector<std::string> params;
    std::string allow;
    for (const auto& r : routes) {
      if (!matches(r, tgt->segments, params)) continue;
      if (serves(r, req.method())) {
        hit = &r;
        break;
      }
      const auto name = bhttp::to_string(r.method);
      if (allow.find(std::string_view(name.data(), name.size())) == std::string::npos) {
        if (!allow.empty()) allow += ", ";
        allow.append(name.data(), name.size());
        if (r.method == bhttp::verb::get) allow += ", HEAD";
      }
    }
    if (hit != nullptr) label = hit->name;

    const auto path = tgt->path();
    const auto& token = services_.options.api_token;
    if (!token.empty() && needs_token(path) && !has_bearer_token(req, token)) {
      once(problem_response({errc::unauthorized,
                             "this endpoint needs the API token: send the header \"Authorization: Bearer <token>\"",
                             {}}));
      return label;
    }
    if (hit == nullptr) {
      if (allow.empty()) {
        once(problem_response({errc::not_found, "there is no resource at " + path, {}}));
        return label;
      }
      const auto method = req.method_string();
      once(problem_response(
          {errc::method_not_allowed,
           std::string(method.data(), method.size()) + " is not allowed on " + path + "; allowed: " + allow,
           {}},
          problem_extras{std::nullopt, allow}));
      return label;
    }
    if (services_.draining.load() && !admitted && !always_served(hit->handle)) {
      once(problem_response({errc::draining,
                             "the server is shutting down and takes no new requests; retry later or on another "
                             "instance",
                             {}}));
      return label;
    }
    hit->handle(services_, handler_input{std::move(req), std::move(*tgt), std::move(params)}, once);
  } catch (const std::exception& e) {
    spdlog::error("http: request failed: {}", e.what());
    once(internal_error_response());
  }
  return label;
}

}  // namespace rollup::http
