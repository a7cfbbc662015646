#include "rollupd/core/time.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace rollup {
namespace {

using namespace std::chrono;

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<timestamp> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|±HH:MM)
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 20) return std::nullopt;
  if (!read_digits(s, 0, 4, y) || s[4] != '-' || !read_digits(s, 5, 2, mo) || s[7] != '-' ||
      !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !read_digits(s, 11, 2, h) ||
      s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' || !read_digits(s, 17, 2, sec))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;

  std::size_t pos = 19;
  std::int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++digits > 9) return std::nullopt;
      frac_ns = frac_ns * 10 + (s[pos] - '0');
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 9; ++i) frac_ns *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  minutes offset{0};
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + nanoseconds{frac_ns};
  return timestamp{local - offset};
}

std::string format_rfc3339(timestamp t) {
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss<nanoseconds> tod{t - days};
  std::array<char, 64> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                        static_cast<int>(tod.seconds().count()));
  std::string out(buf.data(), static_cast<std::size_t>(n));
  auto frac = tod.subseconds().count();
  if (frac != 0) {
    std::array<char, 16> fb{};
    std::snprintf(fb.data(), fb.size(), ".%09lld", static_cast<long long>(frac));
    std::string f(fb.data());
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

std::optional<duration> parse_duration(std::string_view s) {
  if (s == "0") return duration{0};
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i > 12) return std::nullopt;
  long long n = 0;
  std::from_chars(s.data(), s.data() + i, n);
  const auto unit = s.substr(i);
  if (unit == "ms") return milliseconds{n};
  if (unit == "s") return seconds{n};
  if (unit == "m") return minutes{n};
  if (unit == "h") return hours{n};
  if (unit == "d") return std::chrono::days{n};
  return std::nullopt;
}

std::string format_duration(duration d) {
  const auto ms = duration_cast<milliseconds>(d).count();
  if (ms == 0) return "0";
  struct unit { long long ms; const char* name; };
  for (const auto& u : {unit{86'400'000, "d"}, unit{3'600'000, "h"}, unit{60'000, "m"}, unit{1000, "s"}}) {
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

std::int64_t to_nanos(timestamp t) { return t.time_since_epoch().count(); }
timestamp from_nanos(std::int64_t ns) { return timestamp{nanoseconds{ns}}; }

}  // namespace rollup
