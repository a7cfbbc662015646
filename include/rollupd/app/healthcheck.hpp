#pragma once
// `rollupd healthcheck`: a small HTTP/1.1 client that GETs one URL (by
// default http://<listen>/readyz) and reports whether it answered 200.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rollupd/app/config.hpp"
#include "rollupd/core/time.hpp"

namespace rollup::app {

struct http_url {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
};

// "http://host[:port][/path]", host may be "[v6]". Empty for anything else
// (https is not supported: the daemon itself serves plain HTTP).
std::optional<http_url> parse_http_url(std::string_view url);

// http://<listen>/readyz, with a wildcard address (0.0.0.0, ::) replaced by
// the loopback address of its family.
std::string default_healthcheck_url(const listen_address& listen);

struct healthcheck_result {
  bool ok = false;
  std::string message;  // one line for a person: what was asked and what came back
};

// GETs `url`; ok when it answers 200 within `timeout` (connecting, sending
// and reading included). Never throws.
healthcheck_result run_healthcheck(const std::string& url, duration timeout = std::chrono::seconds{5});

}  // namespace rollup::app
