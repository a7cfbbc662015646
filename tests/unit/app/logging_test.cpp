#include "rollupd/app/logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace rollup::app {
namespace {

std::string format(log_format f, spdlog::level::level_enum level, std::string_view text) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "rollupd", level, spdlog::string_view_t(text.data(), text.size()));
  msg.time = spdlog::log_clock::time_point(std::chrono::milliseconds(1565451107808));  // 2019-08-10T15:31:47.808Z
  spdlog::memory_buf_t buf;
  make_log_formatter(f)->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

TEST(Logging, JsonIsOneObjectPerLine) {
  const auto line = format(log_format::json, spdlog::level::info, "listening on 127.0.0.1:8080");
  EXPECT_EQ(line, R"({"time":"2019-08-10T15:31:47.808Z","level":"info","msg":"listening on 127.0.0.1:8080"})" "\n");
}

TEST(Logging, JsonEscapesTheMessage) {
  const auto line = format(log_format::json, spdlog::level::err, "a \"quoted\"\nline\\ with \x01 and \xff");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "a \"quoted\"\nline\\ with \x01 and \xEF\xBF\xBD");
  EXPECT_EQ(j["time"], "2019-08-10T15:31:47.808Z");
}

TEST(Logging, TextIsReadable) {
  const auto line = format(log_format::text, spdlog::level::warn, "hello");
  EXPECT_THAT(line, ::testing::MatchesRegex("2019-08-10T15:31:47\\.808Z warning  hello\r?\n"));
}

TEST(Logging, Levels) {
  EXPECT_EQ(to_spdlog(log_level::trace), spdlog::level::trace);
  EXPECT_EQ(to_spdlog(log_level::warn), spdlog::level::warn);
  EXPECT_EQ(to_spdlog(log_level::error), spdlog::level::err);
  EXPECT_EQ(to_spdlog(log_level::off), spdlog::level::off);
}

}  // namespace
}  // namespace rollup::app
