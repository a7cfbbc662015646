// Digest Ids: 32 lower-case hex digits, the first 16 the milliseconds and a
// sequence, so that Ids sort in the order they were made.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "rollupd/service/id_generator.hpp"

namespace rollup {
namespace {

using namespace std::chrono_literals;

std::uint64_t stamp_of(const std::string& id) { return std::stoull(id.substr(0, 16), nullptr, 16); }

TEST(id_generator, ThirtyTwoLowerCaseHexDigitsStampedWithTheMillisecond) {
  id_generator ids;
  const timestamp at{1'565'451'107'808ms};  // 2019-08-10T15:31:47.808Z
  const auto id = ids.next(at);
  ASSERT_EQ(id.size(), 32U);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(id.substr(0, 16), "016c7c283de00000") << id;  // 1565451107808 << 16, sequence 0
  EXPECT_EQ(stamp_of(id) >> 16, 1'565'451'107'808U);
}

TEST(id_generator, IdsSortInTheOrderTheyWereMade) {
  id_generator ids;
  const timestamp at{1'565'451'107'808ms};
  std::string last;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    // Many in one millisecond, then the clock moves on (or back: the order holds).
    const auto now = i < 500 ? at : (i % 2 ? at + 1ms : at - 5ms);
    const auto id = ids.next(now);
    EXPECT_GT(id, last) << i;
    EXPECT_TRUE(seen.insert(id).second) << id;
    last = id;
  }
  EXPECT_EQ(stamp_of(ids.next(at + 1s)), static_cast<std::uint64_t>(1'565'451'108'808) << 16);
}

}  // namespace
}  // namespace rollup
