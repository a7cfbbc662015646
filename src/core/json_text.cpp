#include "rollupd/core/json_text.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "rollupd/core/hex.hpp"

namespace rollup {
namespace {

constexpr auto replace_invalid = nlohmann::json::error_handler_t::replace;

void append_value(std::string& out, const nlohmann::json& v) { out += v.dump(-1, ' ', false, replace_invalid); }

void append_key(std::string& out, std::string_view key) {
  append_json_string(out, key);
  out += ':';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  // Beyond ASCII, nlohmann's own serializer: it checks the UTF-8 (and
  // replaces what is invalid, as dump_json does), which this loop does not.
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return append_value(out, nlohmann::json(s));
  out += '"';
  // Runs of characters that need no escape go in one append (per-character
  // appends were 1 % of a request's CPU: tests/bench/RESULTS.md, session 9).
  std::size_t plain = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        append_hex(out, static_cast<unsigned char>(c), 2);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void append_json(std::string& out, const notification& n) {
  // The fixed keys merged, in key order, with the extra keys (a sorted map);
  // as in to_json, a fixed key wins over an extra key of the same name.
  constexpr std::array<std::string_view, 5> fixed{"Email", "Id", "Notification", "Priority", "Timestamp"};
  const auto present = [&](std::size_t i) { return i != 1 || n.id.has_value(); };
  const auto write_fixed = [&](std::size_t i) {
    append_key(out, fixed[i]);
    switch (i) {
      case 0: return append_json_string(out, n.email);
      case 1: return append_json_string(out, *n.id);
      case 2: return append_json_string(out, n.text);
      case 3: out += std::to_string(static_cast<int>(n.prio)); return;
      default: return append_json_string(out, format_rfc3339(n.time));
    }
  };
  out += '{';
  bool first = true;
  const auto comma = [&] {
    if (!first) out += ',';
    first = false;
  };
  std::size_t next = 0;  // the first fixed key not yet written
  // Writes the fixed keys that sort before `key` (all that are left without one).
  const auto fixed_before = [&](std::optional<std::string_view> key) {
    for (; next < fixed.size() && (!key || fixed[next] < *key); ++next) {
      if (!present(next)) continue;
      comma();
      write_fixed(next);
    }
  };
  if (n.extra.is_object()) {
    for (const auto& [key, value] : n.extra.items()) {
      fixed_before(key);
      const auto same = std::find(fixed.begin(), fixed.end(), key);
      if (same != fixed.end() && present(static_cast<std::size_t>(same - fixed.begin()))) continue;
      comma();
      append_key(out, key);
      append_value(out, value);
    }
  }
  fixed_before(std::nullopt);
  out += '}';
}

void append_json(std::string& out, const digest& d) {
  out += "{\"Count\":";
  out += std::to_string(d.notifications.size());
  out += ",\"Email\":";
  append_json_string(out, d.email);
  out += ",\"EmittedAt\":";
  append_json_string(out, format_rfc3339(d.emitted_at));
  out += ",\"FirstReceivedAt\":";
  append_json_string(out, format_rfc3339(d.first_received_at));
  out += ",\"Id\":";
  append_json_string(out, d.id);
  out += d.late ? ",\"Late\":true" : ",\"Late\":false";
  out += ",\"Notifications\":[";
  for (std::size_t i = 0; i < d.notifications.size(); ++i) {
    if (i > 0) out += ',';
    append_json(out, d.notifications[i]);
  }
  out += "],\"Reason\":";
  append_json_string(out, reason_name(d.reason));
  out += '}';
}

std::string json_text(const digest& d) {
  std::string out;
  out.reserve(256 + 192 * d.notifications.size());
  append_json(out, d);
  return out;
}

}  // namespace rollup
