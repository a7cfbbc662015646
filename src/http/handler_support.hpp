#pragma once
// Helpers the handler files share (private to src/http).

#include <spdlog/spdlog.h>

#include <charconv>
#include <exception>
#include <utility>

#include "rollupd/core/error.hpp"
#include "rollupd/core/time.hpp"
#include "rollupd/http/problem.hpp"
#include "rollupd/http/router.hpp"

namespace rollup::http::detail {

inline constexpr std::size_t default_page_size = 100;
inline constexpr std::size_t max_page_size = 1000;

// Turns an aggregator completion into a response: `build(value)` on success,
// the problem for the error otherwise. Runs on the storage thread; touches
// nothing but its captures, and lets no exception out.
template <class T, class Build>
auto reply_with(respond done, Build build) {
  return [done = std::move(done), build = std::move(build)](result<T> r) mutable {
    response res;
    try {
      if (r) {
        res = build(*r);
      } else {
        if (r.err().code == errc::storage_unavailable) spdlog::warn("http: storage error: {}", r.err().detail);
        res = problem_response(r.err());
      }
    } catch (const std::exception& e) {
      spdlog::error("http: building a response failed: {}", e.what());
      res = internal_error_response();
    }
    done(std::move(res));
  };
}

// The query parameter `limit`: absent -> default; 1..1000 else a 422 naming it.
inline result<std::size_t> page_limit(const target& t) {
  const auto raw = t.param("limit");
  if (!raw) return default_page_size;
  std::size_t v = 0;
  const auto* end = raw->data() + raw->size();
  const auto [ptr, ec] = std::from_chars(raw->data(), end, v);
  if (raw->empty() || ec != std::errc{} || ptr != end || v < 1 || v > max_page_size)
    return error{errc::validation_failed,
                 "query parameter limit must be an integer from 1 to 1000",
                 {field_error{-1, "limit", "must be an integer from 1 to 1000"}}};
  return v;
}

inline nlohmann::json time_or_null(const std::optional<timestamp>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

}  // namespace rollup::http::detail
