#include "rollupd/app/settings.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <utility>
#include <vector>

#include "rollupd/core/time.hpp"
#include "rollupd/core/webhook_secret.hpp"
#include "rollupd/core/webhook_url.hpp"

namespace rollup::app {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

using apply_fn = std::function<std::optional<std::string>(config&, const raw_value&)>;
using show_fn = std::function<std::string(const config&)>;

bool is_text(const raw_value& v) {
  return v.type == raw_value::kind::text || v.type == raw_value::kind::string;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// Decimal digits only, no sign, no spaces: what a person types for N.
std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// ---- integers ------------------------------------------------------------

template <class Access>
apply_fn integer_rule(std::uint64_t min, std::uint64_t max, Access access) {
  return [=](config& c, const raw_value& v) -> std::optional<std::string> {
    std::optional<std::uint64_t> n;
    if (v.type == raw_value::kind::integer) {
      if (v.integer >= 0) n = static_cast<std::uint64_t>(v.integer);
    } else if (v.type == raw_value::kind::text) {
      n = parse_unsigned(v.text);
    }
    if (!n || *n < min || *n > max)
      return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    auto& field = access(c);
    field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
    return std::nullopt;
  };
}

template <class Access>
show_fn show_integer(Access access) {
  return [=](const config& c) { return std::to_string(access(c)); };
}

// ---- durations -----------------------------------------------------------

// Checks the magnitude before core's parse_duration converts to nanoseconds,
// so "999999999999d" is refused instead of overflowing.
std::optional<duration> parse_bounded_duration(std::string_view s, duration max) {
  if (s == "0") return duration{0};
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const auto n = parse_unsigned(s.substr(0, i));
  if (!n) return std::nullopt;
  const auto unit = s.substr(i);
  std::uint64_t unit_ms = 0;
  if (unit == "ms") unit_ms = 1;
  else if (unit == "s") unit_ms = 1000;
  else if (unit == "m") unit_ms = 60'000;
  else if (unit == "h") unit_ms = 3'600'000;
  else if (unit == "d") unit_ms = 86'400'000;
  else return std::nullopt;
  const auto max_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(max).count());
  if (*n > max_ms / unit_ms) return std::nullopt;
  return parse_duration(s);
}

template <class Access>
apply_fn duration_rule(duration min, duration max, const char* zero_means, Access access) {
  return [=](config& c, const raw_value& v) -> std::optional<std::string> {
    std::optional<duration> d;
    if (is_text(v)) d = parse_bounded_duration(v.text, max);
    else if (v.type == raw_value::kind::integer && v.integer == 0) d = duration{0};
    const bool zero_ok = zero_means != nullptr;
    if (d && ((*d == duration{0} && zero_ok) || (*d >= min && *d <= max))) {
      access(c) = *d;
      return std::nullopt;
    }
    std::string allowed = "must be ";
    if (zero_ok) allowed += std::string("0 (") + zero_means + ") or ";
    allowed += "a duration like 500ms, 30s, 10m, 24h or 7d, from " + format_duration(min) + " to " +
               format_duration(max);
    return allowed;
  };
}

template <class Access>
show_fn show_duration(Access access) {
  return [=](const config& c) { return format_duration(access(c)); };
}

// ---- strings -------------------------------------------------------------

template <class Access, class Check>
apply_fn string_rule(std::string allowed, Access access, Check check) {
  return [=](config& c, const raw_value& v) -> std::optional<std::string> {
    if (!is_text(v) || !check(v.text)) return allowed;
    access(c) = v.text;
    return std::nullopt;
  };
}

// Empty, or a URL the webhook sink can send to: the sink's own parser
// decides, and its reason is part of the message.
template <class Access>
apply_fn webhook_url_rule(Access access) {
  return [=](config& c, const raw_value& v) -> std::optional<std::string> {
    constexpr const char* allowed = "must be empty (off) or an http:// or https:// URL with a host";
    if (!is_text(v)) return allowed;
    if (!v.text.empty()) {
      const auto parsed = parse_webhook_url(v.text);
      if (const auto* why = std::get_if<std::string>(&parsed)) return std::string(allowed) + "; this one " + *why;
    }
    access(c) = v.text;
    return std::nullopt;
  };
}

template <class Access>
show_fn show_string(Access access) {
  return [=](const config& c) { return std::string(access(c)); };
}

// One of a few names, case-insensitive.
template <class E, std::size_t N, class Access>
apply_fn choice_rule(std::array<std::pair<const char*, E>, N> choices, std::string allowed, Access access) {
  return [=](config& c, const raw_value& v) -> std::optional<std::string> {
    if (is_text(v)) {
      const auto t = lower(v.text);
      for (const auto& [name, value] : choices) {
        if (t == name) {
          access(c) = value;
          return std::nullopt;
        }
      }
    }
    return allowed;
  };
}

// ---- special values ------------------------------------------------------

bool is_port(std::string_view s, std::uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  const auto n = parse_unsigned(s);
  if (!n || *n > 65535) return false;
  port = static_cast<std::uint16_t>(*n);
  return true;
}

std::optional<listen_address> parse_listen(std::string_view s) {
  listen_address out;
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    std::array<unsigned char, 16> buf{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), buf.data()) != 1) return std::nullopt;
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    std::array<unsigned char, 4> buf{};
    if (host != "localhost" && inet_pton(AF_INET, std::string(host).c_str(), buf.data()) != 1) return std::nullopt;
  }
  if (!is_port(port, out.port)) return std::nullopt;
  out.host = std::string(host);
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool is_token(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// ---- the table -----------------------------------------------------------

setting row(std::string key, std::string flag, std::string hint, std::string description, apply_fn apply,
            show_fn show) {
  setting s;
  s.env = env_name_for_flag(flag);
  s.key = std::move(key);
  s.flag = std::move(flag);
  s.value_hint = std::move(hint);
  s.description = std::move(description);
  s.apply = std::move(apply);
  s.show = std::move(show);
  return s;
}

std::vector<setting> make_settings() {
  std::vector<setting> t;

  t.push_back(row(
      "listen", "listen", "HOST:PORT",
      "Address the HTTP server binds: an IP address (IPv6 in brackets) or localhost, and a port (0 = any free port).",
      [](config& c, const raw_value& v) -> std::optional<std::string> {
        if (is_text(v)) {
          if (auto a = parse_listen(v.text)) {
            c.listen = std::move(*a);
            return std::nullopt;
          }
        }
        return "must be HOST:PORT with an IP address or localhost and a port from 0 to 65535, "
               "IPv6 in brackets (e.g. 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080)";
      },
      [](const config& c) { return c.listen.to_string(); }));

  const auto data_dir = [](auto& c) -> auto& { return c.data_dir; };
  t.push_back(row("data_dir", "data-dir", "DIR", "Directory that holds the RocksDB database (created if missing).",
                  string_rule("must be a non-empty directory path without control characters", data_dir,
                              [](const std::string& s) { return !s.empty() && !has_control(s); }),
                  show_string(data_dir)));

  const auto threads = [](auto& c) -> auto& { return c.threads; };
  t.push_back(row("threads", "threads", "N", "Threads that serve the network; 0 = one per core (0 to 1024).",
                  integer_rule(0, 1024, threads), show_integer(threads)));

  const auto durability = [](auto& c) -> auto& { return c.durability; };
  t.push_back(row("durability", "durability", "fsync|wal",
                  "fsync: a 2xx means the change is synced to disk; wal: written to the OS (survives a process "
                  "crash, not a machine crash).",
                  choice_rule(std::array{std::pair{"fsync", durability_mode::fsync},
                                         std::pair{"wal", durability_mode::wal}},
                              "must be fsync or wal", durability),
                  [](const config& c) { return std::string(durability_name(c.durability)); }));

  const auto api_token = [](auto& c) -> auto& { return c.api_token; };
  t.push_back(row("api_token", "api-token", "TOKEN",
                  "Bearer token required on /v1/ and /notifications; empty = no authentication.",
                  string_rule("must be printable ASCII without spaces (empty = no authentication)", api_token,
                              [](const std::string& s) { return is_token(s); }),
                  show_string(api_token)));
  t.back().secret = true;

  const auto max_body = [](auto& c) -> auto& { return c.max_body_bytes; };
  t.push_back(row("max_body_bytes", "max-body-bytes", "N",
                  "Largest request body in bytes; larger ones get 413 (1024 to 67108864).",
                  integer_rule(1024, 64ULL * 1024 * 1024, max_body), show_integer(max_body)));

  const auto grace = [](auto& c) -> auto& { return c.shutdown_grace; };
  t.push_back(row("shutdown_grace", "shutdown-grace", "D",
                  "On SIGTERM/SIGINT/SIGHUP, how long to wait for requests in flight before closing them.",
                  duration_rule(0ms, hours{1}, "do not wait", grace), show_duration(grace)));

  const auto level = [](auto& c) -> auto& { return c.level; };
  t.push_back(row("log_level", "log-level", "LEVEL", "Least severe level logged: trace, debug, info, warn, error, critical or off.",
                  choice_rule(std::array{std::pair{"trace", log_level::trace}, std::pair{"debug", log_level::debug},
                                         std::pair{"info", log_level::info}, std::pair{"warn", log_level::warn},
                                         std::pair{"warning", log_level::warn}, std::pair{"error", log_level::error},
                                         std::pair{"critical", log_level::critical},
                                         std::pair{"off", log_level::off}},
                              "must be one of trace, debug, info, warn, error, critical, off", level),
                  [](const config& c) { return std::string(log_level_name(c.level)); }));

  const auto format = [](auto& c) -> auto& { return c.format; };
  t.push_back(row("log_format", "log-format", "text|json",
                  "text: readable lines; json: one JSON object per line with time, level and msg.",
                  choice_rule(std::array{std::pair{"text", log_format::text}, std::pair{"json", log_format::json}},
                              "must be text or json", format),
                  [](const config& c) { return std::string(log_format_name(c.format)); }));

  const auto max_n = [](auto& c) -> auto& { return c.aggregation.max_notifications; };
  t.push_back(row("aggregation.max_notifications", "max-notifications", "N",
                  "Complete a group when it holds this many notifications (1 to 10000).",
                  integer_rule(1, 10000, max_n), show_integer(max_n)));

  t.push_back(row(
      "aggregation.flush_priority", "flush-priority", "LOW|MEDIUM|HIGH",
      "Complete a group at once when a notification of this priority or higher arrives.",
      [](config& c, const raw_value& v) -> std::optional<std::string> {
        std::optional<priority> p;
        if (is_text(v)) p = parse_priority(v.text);
        else if (v.type == raw_value::kind::integer && v.integer >= 0 && v.integer <= 2)
          p = static_cast<priority>(v.integer);
        if (!p) return "must be LOW, MEDIUM or HIGH (or 0, 1 or 2)";
        c.aggregation.flush_priority = *p;
        return std::nullopt;
      },
      [](const config& c) { return std::string(priority_name(c.aggregation.flush_priority)); }));

  const auto timeout = [](auto& c) -> auto& { return c.aggregation.completion_timeout; };
  t.push_back(row("aggregation.completion_timeout", "completion-timeout", "D",
                  "Complete a group this long after its first notification; 0 = never.",
                  duration_rule(1ms, days{365}, "never", timeout), show_duration(timeout)));

  const auto dedupe = [](auto& c) -> auto& { return c.aggregation.dedupe_window; };
  t.push_back(row("aggregation.dedupe_window", "dedupe-window", "D",
                  "How long a notification Id (or Idempotency-Key) is remembered; 0 = not at all.",
                  duration_rule(1ms, days{365}, "no deduplication", dedupe), show_duration(dedupe)));

  const auto retention = [](auto& c) -> auto& { return c.aggregation.digest_retention; };
  t.push_back(row("aggregation.digest_retention", "digest-retention", "D",
                  "How long emitted digests are kept for GET /v1/digests before they are pruned.",
                  duration_rule(1s, days{3650}, nullptr, retention), show_duration(retention)));

  const auto file = [](auto& c) -> auto& { return c.delivery.file_path; };
  t.push_back(row("delivery.file.path", "digest-file", "PATH",
                  "Append one JSON line per digest to this file; empty = off.",
                  string_rule("must be a file path without control characters (empty = off)", file,
                              [](const std::string& s) { return !has_control(s); }),
                  show_string(file)));

  const auto url = [](auto& c) -> auto& { return c.delivery.webhook.url; };
  t.push_back(row("delivery.webhook.url", "webhook-url", "URL", "POST each digest to this URL; empty = off.",
                  webhook_url_rule(url),
                  show_string(url)));

  const auto secret = [](auto& c) -> auto& { return c.delivery.webhook.secret; };
  t.push_back(row("delivery.webhook.secret", "webhook-secret", "whsec_BASE64",
                  "Standard Webhooks signing secret; empty = unsigned.",
                  string_rule("must be empty (unsigned) or whsec_ followed by base64 "
                              "(e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)",
                              secret,
                              [](const std::string& s) { return s.empty() || webhook_secret_base64(s).has_value(); }),
                  show_string(secret)));
  t.back().secret = true;

  const auto wh_timeout = [](auto& c) -> auto& { return c.delivery.webhook.timeout; };
  t.push_back(row("delivery.webhook.timeout", "webhook-timeout", "D", "Time allowed for one webhook delivery attempt.",
                  duration_rule(1ms, minutes{10}, nullptr, wh_timeout), show_duration(wh_timeout)));

  const auto attempts = [](auto& c) -> auto& { return c.delivery.webhook.max_attempts; };
  t.push_back(row("delivery.webhook.max_attempts", "webhook-max-attempts", "N",
                  "Webhook attempts before a digest is dead-lettered (1 to 1000).",
                  integer_rule(1, 1000, attempts), show_integer(attempts)));

  const auto conns = [](auto& c) -> auto& { return c.max_connections; };
  t.push_back(row("max_connections", "max-connections", "N",
                  "Open connections beyond this many are refused (1 to 100000).",
                  integer_rule(1, 100000, conns), show_integer(conns)));

  return t;
}

}  // namespace

std::string env_name_for_flag(std::string_view flag) {
  std::string out = "ROLLUPD_";
  for (char c : flag) out += (c == '-') ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

std::span<const setting> settings() {
  static const std::vector<setting> table = make_settings();
  return table;
}

const setting* find_setting_by_key(std::string_view key) {
  for (const auto& s : settings())
    if (s.key == key) return &s;
  return nullptr;
}

const setting* find_setting_by_flag(std::string_view flag) {
  for (const auto& s : settings())
    if (s.flag == flag) return &s;
  return nullptr;
}

const setting* find_setting_by_env(std::string_view env) {
  for (const auto& s : settings())
    if (s.env == env) return &s;
  return nullptr;
}

}  // namespace rollup::app
