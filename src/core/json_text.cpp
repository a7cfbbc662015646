#include "rollupd/core/json_text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

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
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::array<char, 7> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
          out.append(buf.data(), 6);
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json(std::string& out, const notification& n) {
  // The fixed keys merged, in key order, with the extra keys (a sorted map);
  // as in to_json, a fixed key wins over an extra key of the same name.
  struct fixed_key {
    std::string_view name;
    bool present;
  };
  const std::array<fixed_key, 5> fixed{{{"Email", true},
                                        {"Id", n.id.has_value()},
                                        {"Notification", true},
                                        {"Priority", true},
                                        {"Timestamp", true}}};
  const auto write_fixed = [&](std::string_view name) {
    append_key(out, name);
    if (name == "Email") {
      append_json_string(out, n.email);
    } else if (name == "Id") {
      append_json_string(out, *n.id);
    } else if (name == "Notification") {
      append_json_string(out, n.text);
    } else if (name == "Priority") {
      out += std::to_string(static_cast<int>(n.prio));
    } else {
      append_json_string(out, format_rfc3339(n.time));
    }
  };
  out += '{';
  bool first = true;
  const auto comma = [&] {
    if (!first) out += ',';
    first = false;
  };
  std::size_t next = 0;  // the first fixed key not yet written
  const auto fixed_before = [&](std::string_view key) {
    for (; next < fixed.size() && fixed[next].name < key; ++next) {
      if (!fixed[next].present) continue;
      comma();
      write_fixed(fixed[next].name);
    }
  };
  if (n.extra.is_object()) {
    for (const auto& [key, value] : n.extra.items()) {
      fixed_before(key);
      const bool shadowed = std::any_of(fixed.begin(), fixed.end(),
                                        [&](const fixed_key& f) { return f.present && f.name == key; });
      if (shadowed) continue;
      comma();
      append_key(out, key);
      append_value(out, value);
    }
  }
  for (; next < fixed.size(); ++next) {
    if (!fixed[next].present) continue;
    comma();
    write_fixed(fixed[next].name);
  }
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
