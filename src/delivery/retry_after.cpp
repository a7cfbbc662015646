// HTTP Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, the
// latter in any of the three forms a recipient must accept (§5.6.7).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rollupd/delivery/webhook_sink.hpp"

namespace rollup::delivery {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> short_days{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_days{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A left-to-right reader over the value; every step fails closed.
class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}

  bool literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  bool digits(std::size_t n, int& out) {
    if (s_.size() < n) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (s_[i] < '0' || s_[i] > '9') return false;
      v = v * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    out = v;
    return true;
  }
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, unsigned& index) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<unsigned>(i);
        return true;
      }
    }
    return false;
  }
  // "HH:MM:SS"
  bool time_of_day(int& h, int& m, int& sec) {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec);
  }
  bool at_end() const { return s_.empty(); }

 private:
  std::string_view s_;
};

std::optional<sys_seconds> make_time(int y, unsigned month_index, int d, int h, int mi, int sec) {
  const year_month_day ymd{year{y}, month{month_index + 1}, day{static_cast<unsigned>(d)}};
  // 60 allows a leap second; the value is only a hint.
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
}

std::optional<sys_seconds> parse_http_date(std::string_view s) {
  unsigned wday = 0;
  unsigned mon = 0;
  int d = 0, y = 0, h = 0, mi = 0, sec = 0;
  {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    reader r(s);
    if (r.one_of(short_days, wday) && r.literal(", ") && r.digits(2, d) && r.literal(" ") && r.one_of(months, mon) &&
        r.literal(" ") && r.digits(4, y) && r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" GMT") &&
        r.at_end())
      return make_time(y, mon, d, h, mi, sec);
  }
  {  // obsolete RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    reader r(s);
    if (r.one_of(long_days, wday) && r.literal(", ") && r.digits(2, d) && r.literal("-") && r.one_of(months, mon) &&
        r.literal("-") && r.digits(2, y) && r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" GMT") &&
        r.at_end())
      return make_time(y < 70 ? 2000 + y : 1900 + y, mon, d, h, mi, sec);
  }
  {  // asctime: "Sun Nov  6 08:49:37 1994"
    reader r(s);
    if (r.one_of(short_days, wday) && r.literal(" ") && r.one_of(months, mon) && r.literal(" ")) {
      const bool one_digit = r.literal(" ");
      if (r.digits(one_digit ? 1 : 2, d) && r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" ") &&
          r.digits(4, y) && r.at_end())
        return make_time(y, mon, d, h, mi, sec);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<duration> parse_retry_after(std::string_view value, timestamp now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;

  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    // Nanoseconds in an int64 reach ~292 years; anything longer is not a
    // wait a sender means, so it counts as unreadable.
    while (value.size() > 1 && value.front() == '0') value.remove_prefix(1);
    if (value.size() > 10) return std::nullopt;
    std::int64_t secs = 0;
    for (char c : value) secs = secs * 10 + (c - '0');
    return duration{seconds{secs}};
  }

  const auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  // Compare in seconds: an HTTP-date may lie outside nanosecond range.
  const auto now_s = floor<seconds>(now);
  if (*at <= now_s) return duration{0};
  const auto wait = *at - now_s;
  if (wait >= duration_cast<seconds>(duration::max())) return std::nullopt;
  return duration{wait} - (now - now_s);
}

}  // namespace rollup::delivery
