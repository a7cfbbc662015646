#pragma once
// Logging set-up: spdlog to stderr, one line per message.
//   text: "2024-05-01T12:00:00.123Z info     message"
//   json: {"time":"2024-05-01T12:00:00.123Z","level":"info","msg":"message"}
// Times are UTC. The message is JSON-escaped (invalid UTF-8 replaced), so a
// log shipper can parse every line.

#include <memory>
#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include "rollupd/app/config.hpp"

namespace rollup::app {

spdlog::level::level_enum to_spdlog(log_level level);

// The formatter for `format`; public so tests can format a message.
std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format);

// Replaces spdlog's default logger with one writing to stderr in `format`
// at `level`. Call at start-up, before other threads log.
void setup_logging(log_level level, log_format format);

}  // namespace rollup::app
