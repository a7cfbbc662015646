#pragma once
// application/problem+json (RFC 9457) responses, and the one mapping of
// errc to an HTTP status.

#include <boost/beast/http/status.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "rollupd/core/error.hpp"
#include "rollupd/http/response.hpp"

namespace rollup::http {

// THE mapping of errc to an HTTP status (ARCHITECTURE.md: exactly one place).
boost::beast::http::status status_of(errc code);

// The last part of the problem type "urn:rollupd:problem:<slug>".
std::string_view slug_of(errc code);

// How long a client should wait before retrying, for the errors that say
// "later" (503s); empty for the others.
std::optional<std::chrono::seconds> retry_after_of(errc code);

// What some problems carry besides type, title, status and detail.
struct problem_extras {
  std::optional<std::size_t> offset;  // 400 malformed JSON: byte offset of the error
  std::string allow;                  // 405: value of the Allow header
};

// A problem response for `e`: type "urn:rollupd:problem:<slug>", title,
// status, detail, and for validation_failed an "errors" array of
// {"index" (omitted for -1), "field", "rule"}. Adds Retry-After to 503s,
// WWW-Authenticate: Bearer to 401, Allow to 405.
response problem_response(const error& e, const problem_extras& extras = {});

// 500 for what cannot happen (an exception on the request path).
response internal_error_response();

}  // namespace rollup::http
