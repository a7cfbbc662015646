#pragma once
// The daemon's configuration (SPEC §9): one plain struct whose member
// initialisers are the documented defaults. Loading it from the TOML file,
// ROLLUPD_* variables and flags lives in config_loader.hpp; the table of
// settings that maps each key to its three forms lives in settings.hpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "rollupd/core/notification.hpp"
#include "rollupd/core/time.hpp"

namespace rollup::app {

// SPEC §7: "fsync" syncs the WAL before a 2xx; "wal" hands it to the OS.
enum class durability_mode { fsync, wal };
const char* durability_name(durability_mode d);

enum class log_format { text, json };
const char* log_format_name(log_format f);

// The spdlog levels, kept here so that config does not depend on spdlog.
enum class log_level { trace, debug, info, warn, error, critical, off };
const char* log_level_name(log_level l);

// Where the HTTP server binds. `host` is an IP literal (IPv6 without the
// brackets) or "localhost"; port 0 asks the kernel for a free port.
struct listen_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;

  // "127.0.0.1:8080", "[::1]:8080".
  [[nodiscard]] std::string to_string() const;
};

struct aggregation_config {
  std::size_t max_notifications = 3;                       // 1–10000
  priority flush_priority = priority::high;
  duration completion_timeout = std::chrono::minutes{10};  // 0 = never
  duration dedupe_window = std::chrono::hours{24};
  duration digest_retention = std::chrono::days{7};
};

struct webhook_config {
  std::string url;     // empty = off; otherwise starts http:// or https://
  std::string secret;  // empty = unsigned; otherwise "whsec_<base64>"
  duration timeout = std::chrono::seconds{10};
  unsigned max_attempts = 20;
};

struct delivery_config {
  std::string file_path;  // empty = off
  webhook_config webhook;
};

struct config {
  listen_address listen;
  std::string data_dir = "./data";
  unsigned threads = 0;  // network threads; 0 = one per core
  durability_mode durability = durability_mode::fsync;
  std::string api_token;  // empty = open; never logged
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 1024;  // open connections beyond this are refused
  duration shutdown_grace = std::chrono::seconds{10};
  log_level level = log_level::info;
  log_format format = log_format::text;
  aggregation_config aggregation;
  delivery_config delivery;
};

}  // namespace rollup::app
