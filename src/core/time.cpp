#include "rollupd/core/time.hpp"

#include <array>
#include <charconv>
#include <cstdint>
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

constexpr std::int64_t ns_per_s = 1'000'000'000;

// ns = secs * 1e9 + frac (0 <= frac < 1e9), false if that leaves int64.
bool seconds_to_nanos(std::int64_t secs, std::int64_t frac, std::int64_t& ns) {
  // For negative secs, go through secs + 1 so the lowest second still fits.
  if (secs < 0)
    return !__builtin_mul_overflow(secs + 1, ns_per_s, &ns) && !__builtin_add_overflow(ns, frac - ns_per_s, &ns);
  return !__builtin_mul_overflow(secs, ns_per_s, &ns) && !__builtin_add_overflow(ns, frac, &ns);
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
  // Whole seconds fit an int64 for any 4-digit year; nanoseconds do not
  // (1677-09-21 .. 2262-04-11), so check the range instead of overflowing.
  const std::int64_t secs = static_cast<std::int64_t>(sys_days{ymd}.time_since_epoch().count()) * 86'400 +
                            h * 3'600 + mi * 60 + sec - static_cast<std::int64_t>(offset.count()) * 60;
  std::int64_t ns = 0;
  if (!seconds_to_nanos(secs, frac_ns, ns)) return std::nullopt;
  return from_nanos(ns);
}

void append_rfc3339(std::string& out, timestamp t) {
  // Split into whole seconds and fraction with integers: chrono's floor to
  // days would overflow int64 nanoseconds near the ends of the range.
  std::int64_t secs = to_nanos(t) / ns_per_s;
  std::int64_t frac = to_nanos(t) % ns_per_s;
  if (frac < 0) {
    frac += ns_per_s;
    --secs;
  }
  const sys_seconds whole{seconds{secs}};
  const auto days = floor<std::chrono::days>(whole);
  const year_month_day ymd{days};
  const hh_mm_ss<seconds> tod{whole - days};
  // Digits written by hand: snprintf was 1 % of a request's CPU
  // (tests/bench/RESULTS.md, session 9). Years of int64 nanoseconds
  // (1677-2262) always have four digits.
  std::array<char, 31> buf{};  // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
  const auto put = [&buf](std::size_t at, std::int64_t v, std::size_t width) {
    for (std::size_t i = width; i-- > 0; v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, static_cast<int>(ymd.year()), 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, tod.hours().count(), 2);
  buf[13] = ':';
  put(14, tod.minutes().count(), 2);
  buf[16] = ':';
  put(17, tod.seconds().count(), 2);
  std::size_t n = 19;
  if (frac != 0) {
    buf[n++] = '.';
    put(n, frac, 9);
    n += 9;
    while (buf[n - 1] == '0') --n;
  }
  buf[n++] = 'Z';
  out.append(buf.data(), n);
}

std::string format_rfc3339(timestamp t) {
  std::string out;
  append_rfc3339(out, t);
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
  std::int64_t unit_ns = 0;
  if (unit == "ms") unit_ns = 1'000'000;
  else if (unit == "s") unit_ns = ns_per_s;
  else if (unit == "m") unit_ns = 60 * ns_per_s;
  else if (unit == "h") unit_ns = 3'600 * ns_per_s;
  else if (unit == "d") unit_ns = 86'400 * ns_per_s;
  else return std::nullopt;
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(n), unit_ns, &ns)) return std::nullopt;  // beyond ~292 years
  return duration{ns};
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
