#pragma once
// Time values and their text forms. Pure: nothing here reads a clock.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rollup {

// A point in UTC with nanosecond resolution.
using timestamp = std::chrono::sys_time<std::chrono::nanoseconds>;
using duration = std::chrono::nanoseconds;

// RFC 3339 date-time: "2019-08-10T15:31:47.808596Z", "…+02:00", up to 9
// fraction digits. Empty on anything else.
std::optional<timestamp> parse_rfc3339(std::string_view text);

// UTC with a trailing Z; fraction digits only as many as needed (none, or
// up to 9 with trailing zeros dropped), so a UTC input round-trips unchanged.
std::string format_rfc3339(timestamp t);
// format_rfc3339(t), appended to `out`.
void append_rfc3339(std::string& out, timestamp t);

// Durations "500ms", "30s", "10m", "24h", "7d", or "0". Empty on anything else.
std::optional<duration> parse_duration(std::string_view text);
std::string format_duration(duration d);

std::int64_t to_nanos(timestamp t);
timestamp from_nanos(std::int64_t ns);

// Where "now" comes from. The daemon uses the system clock; tests move a
// fake one. Implementations must be thread-safe.
class time_source {
 public:
  virtual ~time_source() = default;
  virtual timestamp now() const = 0;
};

}  // namespace rollup
