#pragma once
// Settings of the HTTP server (SPEC §4, §9). Plain values, and the metrics
// registry it counts requests in and serves on GET /metrics; the server
// keeps its own copy.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "rollupd/metrics/registry.hpp"

namespace rollup::http {

struct server_options {
  std::string host = "127.0.0.1";         // an IP address or a host name resolved at start()
  std::uint16_t port = 8080;              // 0 = any free port (start() returns the one bound)
  std::size_t max_body_bytes = 1048576;   // larger bodies get 413, refused before the body is read
  std::string api_token;                  // empty = open (SPEC §4.4); never logged
  std::size_t max_connections = 1024;     // at the cap: accept, answer 503 problem with Retry-After, close
  std::chrono::seconds read_timeout{30};  // deadline per header read, per body read, per write,
                                          // and for an idle keep-alive connection
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
};

}  // namespace rollup::http
