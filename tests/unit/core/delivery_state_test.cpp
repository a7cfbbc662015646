// The stored form of a digest's delivery state for one sink (SPEC §8): the
// binary form written now and the JSON form of earlier releases, still read.

#include "rollupd/core/delivery_state.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "rollupd/core/binary_form.hpp"

namespace rollup {
namespace {

using nlohmann::json;

const timestamp t0 = from_nanos(1'767'225'600'000'000'000);

::testing::AssertionResult same(const delivery_state& a, const delivery_state& b) {
  if (a.sink != b.sink) return ::testing::AssertionFailure() << "sink";
  if (a.status != b.status) return ::testing::AssertionFailure() << "status";
  if (a.attempts != b.attempts) return ::testing::AssertionFailure() << "attempts";
  if (a.last_error != b.last_error) return ::testing::AssertionFailure() << "last_error";
  if (a.next_attempt_at != b.next_attempt_at) return ::testing::AssertionFailure() << "next_attempt_at";
  if (a.delivered_at != b.delivered_at) return ::testing::AssertionFailure() << "delivered_at";
  return ::testing::AssertionSuccess();
}

std::vector<delivery_state> samples() {
  return {
      {"log", delivery_status::pending, 0, "", t0, std::nullopt},
      {"webhook", delivery_status::pending, 3, "HTTP 503 from https://example.com/hook", t0 + std::chrono::seconds{8},
       std::nullopt},
      {"file", delivery_status::delivered, 1, "", std::nullopt, t0 - std::chrono::nanoseconds{1}},
      {"webhook", delivery_status::dead, std::numeric_limits<int>::max(), "line\n\"quoted\" \u00e9", std::nullopt,
       std::nullopt},
  };
}

// The JSON form that earlier releases wrote.
std::string json_form_of(const delivery_state& s) {
  json j{{"v", 1}, {"sink", s.sink}, {"status", static_cast<int>(s.status)}, {"attempts", s.attempts},
         {"error", s.last_error}};
  if (s.next_attempt_at) j["next"] = to_nanos(*s.next_attempt_at);
  if (s.delivered_at) j["delivered"] = to_nanos(*s.delivered_at);
  return j.dump();
}

TEST(DeliveryStateStorage, RoundTripIsEqualAndBinary) {
  for (const auto& s : samples()) {
    const auto bytes = encode_delivery(s);
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes.front(), binary::delivery_v1);
    const auto back = decode_delivery(bytes);
    ASSERT_TRUE(back) << s.sink;
    EXPECT_TRUE(same(*back, s));
  }
}

TEST(DeliveryStateStorage, ReadsTheJsonFormOfEarlierReleases) {
  for (const auto& s : samples()) {
    const auto back = decode_delivery(json_form_of(s));
    ASSERT_TRUE(back) << json_form_of(s);
    EXPECT_TRUE(same(*back, s));
  }
}

TEST(DeliveryStateStorage, RejectsTruncationsTrailingBytesAndBadFields) {
  const auto bytes = encode_delivery(samples()[1]);
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_delivery(bytes.substr(0, n))) << n;
  EXPECT_FALSE(decode_delivery(bytes + "x"));

  struct fields {
    std::uint8_t status = 0;
    std::uint32_t attempts = 0;
    std::uint8_t has_next = 0, has_delivered = 0;
  };
  const auto written = [](const fields& f) {
    binary::writer w(binary::delivery_v1);
    w.u8(f.status);
    w.u32(f.attempts);
    w.str("log");
    w.str("");
    w.u8(f.has_next);
    if (f.has_next == 1) w.i64(1);
    w.u8(f.has_delivered);
    if (f.has_delivered == 1) w.i64(2);
    return std::move(w).take();
  };
  EXPECT_TRUE(decode_delivery(written({.status = 2, .attempts = 5, .has_next = 1, .has_delivered = 1})));
  for (const auto& bad : {fields{.status = 3}, fields{.attempts = 0x80000000U}, fields{.has_next = 2},
                          fields{.has_delivered = 2}}) {
    EXPECT_FALSE(decode_delivery(written(bad)));
  }
  for (const char* garbage : {"", "{", "{}", "null", "\x01", "\x02\x00"}) EXPECT_FALSE(decode_delivery(garbage));
}

}  // namespace
}  // namespace rollup
