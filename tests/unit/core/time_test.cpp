// Time values and their text forms (SPEC §1 Timestamp, §3 times, §9 durations).

#include "rollupd/core/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "support/fake_clock.hpp"

namespace rollup {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// 2019-08-10T15:31:47Z, built without the parser under test.
timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, nanoseconds frac = 0ns) {
  return timestamp{sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + frac};
}

const timestamp spec_example = at(2019, 8, 10, 15, 31, 47, 808596us);

// ---------------------------------------------------------------- parsing

TEST(TimeParse, SpecExampleWithZ) {
  const auto t = parse_rfc3339("2019-08-10T15:31:47.808596Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, spec_example);
}

TEST(TimeParse, WholeSecondsWithoutFraction) {
  const auto t = parse_rfc3339("2019-08-10T15:31:47Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, at(2019, 8, 10, 15, 31, 47));
}

TEST(TimeParse, LowerCaseTAndZ) {
  const auto lower = parse_rfc3339("2019-08-10t15:31:47.808596z");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(*lower, spec_example);
  const auto mixed = parse_rfc3339("2019-08-10T15:31:47.808596z");
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(*mixed, spec_example);
}

TEST(TimeParse, PositiveOffsetIsNormalisedToUtc) {
  const auto t = parse_rfc3339("2019-08-10T17:31:47.808596+02:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, spec_example);
}

TEST(TimeParse, NegativeOffsetWithMinutesIsNormalisedToUtc) {
  const auto t = parse_rfc3339("2019-08-10T10:01:47.808596-05:30");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, spec_example);
}

TEST(TimeParse, ZeroOffsetsEqualZ) {
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47+00:00"), at(2019, 8, 10, 15, 31, 47));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47-00:00"), at(2019, 8, 10, 15, 31, 47));
}

TEST(TimeParse, OffsetCrossesDateAndYear) {
  EXPECT_EQ(parse_rfc3339("2019-12-31T23:30:00-01:00"), at(2020, 1, 1, 0, 30, 0));
  EXPECT_EQ(parse_rfc3339("2020-01-01T00:30:00+01:00"), at(2019, 12, 31, 23, 30, 0));
}

TEST(TimeParse, ZeroToNineFractionDigits) {
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47Z"), at(2019, 8, 10, 15, 31, 47));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.8Z"), at(2019, 8, 10, 15, 31, 47, 800ms));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.80Z"), at(2019, 8, 10, 15, 31, 47, 800ms));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.808Z"), at(2019, 8, 10, 15, 31, 47, 808ms));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.8085Z"), at(2019, 8, 10, 15, 31, 47, 808500us));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.80859Z"), at(2019, 8, 10, 15, 31, 47, 808590us));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.808596Z"), at(2019, 8, 10, 15, 31, 47, 808596us));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.8085961Z"), at(2019, 8, 10, 15, 31, 47, 808596100ns));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.80859612Z"), at(2019, 8, 10, 15, 31, 47, 808596120ns));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.808596123Z"), at(2019, 8, 10, 15, 31, 47, 808596123ns));
  EXPECT_EQ(parse_rfc3339("2019-08-10T15:31:47.000000001Z"), at(2019, 8, 10, 15, 31, 47, 1ns));
}

TEST(TimeParse, FractionWithOffset) {
  EXPECT_EQ(parse_rfc3339("2019-08-10T17:31:47.123456789+02:00"), at(2019, 8, 10, 15, 31, 47, 123456789ns));
}

TEST(TimeParse, TenFractionDigitsRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.8085961234Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.0000000000Z"));
}

TEST(TimeParse, EmptyFractionRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.+02:00"));
}

TEST(TimeParse, ImpossibleDatesRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-02-29T00:00:00Z"));  // not a leap year
  EXPECT_FALSE(parse_rfc3339("2019-04-31T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-00-10T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-00T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-32T00:00:00Z"));
}

TEST(TimeParse, LeapDayAccepted) {
  EXPECT_EQ(parse_rfc3339("2020-02-29T12:00:00Z"), at(2020, 2, 29, 12, 0, 0));
}

TEST(TimeParse, ImpossibleTimesRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T24:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T23:60:00Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T23:59:60Z"));
}

TEST(TimeParse, BoundaryTimesAccepted) {
  EXPECT_EQ(parse_rfc3339("2019-08-10T23:59:59.999999999Z"), at(2019, 8, 10, 23, 59, 59, 999999999ns));
  EXPECT_EQ(parse_rfc3339("2019-08-10T00:00:00Z"), at(2019, 8, 10, 0, 0, 0));
}

TEST(TimeParse, MissingZoneRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.808596"));
}

TEST(TimeParse, MalformedOffsetsRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+0200"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+02"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+2:00"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+24:00"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+02:60"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47 02:00"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47UTC"));
}

TEST(TimeParse, TrailingGarbageRejected) {
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47Z "));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47Zx"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47ZZ"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47.808596Z0"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+02:00x"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47+02:00Z"));
}

TEST(TimeParse, OtherMalformedInputRejected) {
  EXPECT_FALSE(parse_rfc3339(""));
  EXPECT_FALSE(parse_rfc3339("Z"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339(" 2019-08-10T15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10X15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("2019/08/10T15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("19-08-10T15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("2019-8-10T15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:4Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-10T15:31:47,5Z"));
  EXPECT_FALSE(parse_rfc3339("+2019-08-10T15:31:47Z"));
  EXPECT_FALSE(parse_rfc3339("2019-08-1aT15:31:47Z"));
}

TEST(TimeParse, EmbeddedNulRejected) {
  const std::string with_nul("2019-08-10T15:31:47Z\0", 21);
  EXPECT_FALSE(parse_rfc3339(with_nul));
}

// A timestamp holds int64 nanoseconds: 1677-09-21 .. 2262-04-11. Dates
// outside that range (Go's zero time 0001-01-01, the 9999-12-31 sentinel)
// must be refused, not wrapped around (signed overflow).
TEST(TimeParse, DatesOutsideTheRepresentableRangeRejected) {
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59.999999999Z"));
  EXPECT_FALSE(parse_rfc3339("0000-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2262-04-11T23:47:16.854775808Z"));
  EXPECT_FALSE(parse_rfc3339("1677-09-21T00:12:43.145224191Z"));
  // in range as written, out of range once the offset is applied
  EXPECT_FALSE(parse_rfc3339("2262-04-11T23:47:16.854775807-00:01"));
  EXPECT_FALSE(parse_rfc3339("1677-09-21T00:12:43.145224192+00:01"));
}

TEST(TimeParse, ExtremesOfTheRangeAccepted) {
  const auto max = parse_rfc3339("2262-04-11T23:47:16.854775807Z");
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(to_nanos(*max), std::numeric_limits<std::int64_t>::max());
  const auto min = parse_rfc3339("1677-09-21T00:12:43.145224192Z");
  ASSERT_TRUE(min.has_value());
  EXPECT_EQ(to_nanos(*min), std::numeric_limits<std::int64_t>::min());
}

TEST(TimeParse, BeforeTheEpoch) {
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.5Z"), timestamp{-500ms});
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), timestamp{0ns});
}

// ------------------------------------------------------------- formatting

TEST(TimeFormat, SpecExampleRoundTrips) {
  const std::string text = "2019-08-10T15:31:47.808596Z";
  const auto t = parse_rfc3339(text);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), text);
  EXPECT_EQ(format_rfc3339(spec_example), text);
}

TEST(TimeFormat, NoFractionWhenWholeSeconds) {
  EXPECT_EQ(format_rfc3339(at(2019, 8, 10, 15, 31, 47)), "2019-08-10T15:31:47Z");
  EXPECT_EQ(format_rfc3339(timestamp{0ns}), "1970-01-01T00:00:00Z");
}

TEST(TimeFormat, TrailingFractionZerosDropped) {
  EXPECT_EQ(format_rfc3339(at(2019, 8, 10, 15, 31, 47, 500ms)), "2019-08-10T15:31:47.5Z");
  EXPECT_EQ(format_rfc3339(at(2019, 8, 10, 15, 31, 47, 10ms)), "2019-08-10T15:31:47.01Z");
  EXPECT_EQ(format_rfc3339(at(2019, 8, 10, 15, 31, 47, 1ns)), "2019-08-10T15:31:47.000000001Z");
  EXPECT_EQ(format_rfc3339(at(2019, 8, 10, 15, 31, 47, 123456789ns)), "2019-08-10T15:31:47.123456789Z");
}

TEST(TimeFormat, OffsetInputIsWrittenInUtc) {
  const auto t = parse_rfc3339("2019-08-10T10:01:47.808596-05:30");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2019-08-10T15:31:47.808596Z");
}

TEST(TimeFormat, LowerCaseInputIsWrittenUpperCase) {
  const auto t = parse_rfc3339("2019-08-10t15:31:47z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2019-08-10T15:31:47Z");
}

TEST(TimeFormat, UtcInputsRoundTripUnchanged) {
  for (const char* text :
       {"2019-08-10T15:31:47Z", "2019-08-10T15:31:47.8Z", "2019-08-10T15:31:47.123456789Z", "2020-02-29T00:00:00Z",
        "1999-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.5Z", "1900-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775807Z", "1677-09-21T00:12:43.145224192Z"}) {
    const auto t = parse_rfc3339(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(format_rfc3339(*t), text);
  }
}

TEST(TimeFormat, PreEpochFraction) {
  EXPECT_EQ(format_rfc3339(timestamp{-1ns}), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_rfc3339(timestamp{-500ms}), "1969-12-31T23:59:59.5Z");
}

// Any int64 read back from storage must format without undefined behaviour.
TEST(TimeFormat, WholeInt64RangeFormats) {
  EXPECT_EQ(format_rfc3339(from_nanos(std::numeric_limits<std::int64_t>::max())), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(format_rfc3339(from_nanos(std::numeric_limits<std::int64_t>::min())), "1677-09-21T00:12:43.145224192Z");
}

TEST(TimeNanos, RoundTrip) {
  for (std::int64_t ns : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{1565451107808596000},
                          std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    EXPECT_EQ(to_nanos(from_nanos(ns)), ns);
  }
  EXPECT_EQ(to_nanos(spec_example), 1565451107808596000);
}

// -------------------------------------------------------------- durations

TEST(TimeDuration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("500ms"), duration{500ms});
  EXPECT_EQ(parse_duration("30s"), duration{30s});
  EXPECT_EQ(parse_duration("10m"), duration{10min});
  EXPECT_EQ(parse_duration("24h"), duration{24h});
  EXPECT_EQ(parse_duration("7d"), duration{hours{7 * 24}});
}

TEST(TimeDuration, ZeroForms) {
  EXPECT_EQ(parse_duration("0"), duration{0});
  EXPECT_EQ(parse_duration("0s"), duration{0});
  EXPECT_EQ(parse_duration("0ms"), duration{0});
}

TEST(TimeDuration, RejectsMalformed) {
  for (const char* text : {"", "10", "5w", "-1s", "1.5h", "ms", "s", " 1s", "1s ", "1 s", "1sec", "+1s", "1h30m",
                           "1S", "1M", "1D", "1us", "1ns", "0x10s", "00"}) {
    EXPECT_FALSE(parse_duration(text)) << '"' << text << '"';
  }
}

TEST(TimeDuration, RejectsOverlyLongNumbers) {
  EXPECT_FALSE(parse_duration("1234567890123ms"));
}

// A duration holds int64 nanoseconds (about 292 years). A larger value must be
// refused, not wrapped around (signed overflow).
TEST(TimeDuration, RejectsValuesThatOverflow) {
  EXPECT_FALSE(parse_duration("999999999999d"));
  EXPECT_FALSE(parse_duration("999999999999h"));
  EXPECT_FALSE(parse_duration("999999999999m"));
  EXPECT_FALSE(parse_duration("999999999999s"));
  EXPECT_FALSE(parse_duration("106752d"));
  EXPECT_FALSE(parse_duration("9223372037s"));
}

TEST(TimeDuration, LargestValuesThatFit) {
  EXPECT_EQ(parse_duration("106751d"), duration{hours{106751 * 24}});
  EXPECT_EQ(parse_duration("9223372036s"), duration{seconds{9223372036}});
  EXPECT_EQ(parse_duration("999999999999ms"), duration{milliseconds{999999999999}});
}

TEST(TimeDuration, FormatPicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(duration{0}), "0");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(10min), "10m");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(24h), "1d");
  EXPECT_EQ(format_duration(hours{7 * 24}), "7d");
  EXPECT_EQ(format_duration(hours{36}), "36h");
}

TEST(TimeDuration, FormatThenParseRoundTrips) {
  for (const duration d : {duration{0}, duration{1ms}, duration{500ms}, duration{1500ms}, duration{30s},
                           duration{10min}, duration{24h}, duration{hours{7 * 24}}, duration{hours{36}}}) {
    const auto text = format_duration(d);
    const auto back = parse_duration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, d) << text;
  }
}

TEST(TimeDuration, ParseThenFormatIsCanonical) {
  EXPECT_EQ(format_duration(*parse_duration("500ms")), "500ms");
  EXPECT_EQ(format_duration(*parse_duration("30s")), "30s");
  EXPECT_EQ(format_duration(*parse_duration("10m")), "10m");
  EXPECT_EQ(format_duration(*parse_duration("7d")), "7d");
  EXPECT_EQ(format_duration(*parse_duration("60s")), "1m");
  EXPECT_EQ(format_duration(*parse_duration("1000ms")), "1s");
}

// --------------------------------------------------------------- fake clock

TEST(TimeFakeClock, StartsWhereToldAndMovesOnlyWhenAdvanced) {
  testing::fake_clock clock{spec_example};
  const time_source& source = clock;
  EXPECT_EQ(source.now(), spec_example);
  EXPECT_EQ(source.now(), spec_example);
  clock.advance(10min);
  EXPECT_EQ(source.now(), spec_example + 10min);
  EXPECT_EQ(format_rfc3339(testing::fake_clock{}.now()), "2026-01-01T00:00:00Z");
}

}  // namespace
}  // namespace rollup
