#include "rollupd/app/config.hpp"

namespace rollup::app {

const char* durability_name(durability_mode d) {
  switch (d) {
    case durability_mode::fsync: return "fsync";
    case durability_mode::wal: return "wal";
  }
  return "fsync";
}

const char* log_format_name(log_format f) {
  switch (f) {
    case log_format::text: return "text";
    case log_format::json: return "json";
  }
  return "text";
}

const char* log_level_name(log_level l) {
  switch (l) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    case log_level::critical: return "critical";
    case log_level::off: return "off";
  }
  return "info";
}

std::string listen_address::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace rollup::app
