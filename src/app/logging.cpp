#include "rollupd/app/logging.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <string>

namespace rollup::app {
namespace {

// 2024-05-01T12:00:00.123Z
std::string utc_millis(spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  const auto since = tp.time_since_epoch();
  const auto secs = duration_cast<seconds>(since);
  auto ms = duration_cast<milliseconds>(since - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  if (ms < 0) {  // before 1970: keep the fraction positive
    ms += 1000;
    --t;
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const auto n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return std::string(buf.data(), static_cast<std::size_t>(n > 0 ? n : 0));
}

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"" + utc_millis(msg.time) + "\",\"level\":";
    const auto level = spdlog::level::to_string_view(msg.level);
    line += json_string(std::string_view(level.data(), level.size()));
    line += ",\"msg\":";
    line += json_string(std::string_view(msg.payload.data(), msg.payload.size()));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

}  // namespace

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::critical: return spdlog::level::critical;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(log_format format) {
  if (format == log_format::json) return std::make_unique<json_formatter>();
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%-8l%$ %v",
                                                     spdlog::pattern_time_type::utc);
}

void setup_logging(log_level level, log_format format) {
  spdlog::sink_ptr sink;
  // Colours only in text mode (and only on a terminal); JSON stays plain.
  if (format == log_format::text) sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  else sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("rollupd", std::move(sink));
  logger->set_formatter(make_log_formatter(format));
  logger->set_level(to_spdlog(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace rollup::app
