#include "rollupd/delivery/backoff.hpp"

#include <gtest/gtest.h>

namespace rollup::delivery {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, DoublesFromOneSecondWithJitterInTheUpperHalf) {
  EXPECT_EQ(backoff_delay(1, 0.0, std::nullopt), 500ms);
  EXPECT_EQ(backoff_delay(1, 0.5, std::nullopt), 750ms);
  EXPECT_EQ(backoff_delay(2, 0.0, std::nullopt), 1s);
  EXPECT_EQ(backoff_delay(3, 0.0, std::nullopt), 2s);
  EXPECT_EQ(backoff_delay(4, 0.999999, std::nullopt).count() / 1'000'000, 7999);  // just under 8 s
}

TEST(Backoff, CapsAtTenMinutes) {
  EXPECT_EQ(backoff_delay(10, 0.0, std::nullopt), 256s);
  EXPECT_EQ(backoff_delay(11, 0.0, std::nullopt), 5min);  // 1024 s capped to 600, half is 300
  EXPECT_EQ(backoff_delay(20, 0.0, std::nullopt), 5min);
  EXPECT_LT(backoff_delay(1000, 0.999, std::nullopt), 10min);
}

TEST(Backoff, RetryAfterWinsWhenLonger) {
  EXPECT_EQ(backoff_delay(1, 0.0, 7s), 7s);
  EXPECT_EQ(backoff_delay(12, 0.0, 7s), 5min);  // our schedule is longer
  EXPECT_EQ(backoff_delay(1, 0.0, 48h), 1h);    // a runaway Retry-After is capped
}

TEST(Backoff, JitterOutsideRangeIsClamped) {
  EXPECT_EQ(backoff_delay(2, -3.0, std::nullopt), 1s);
  EXPECT_EQ(backoff_delay(2, 7.0, std::nullopt), 2s);
}

}  // namespace
}  // namespace rollup::delivery
