#include "rollupd/core/json_text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
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

// The letter after the backslash when `c` is written as a two-character
// escape (\" \\ \b \f \n \r \t), as nlohmann::json::dump() writes it; 0 otherwise.
constexpr char short_escape(unsigned char c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
  }
}

// What a byte of a string needs when written as JSON: nothing, a
// two-character escape, a \u00XX escape, or (past ASCII) a UTF-8 check.
enum class byte_kind : std::uint8_t { plain, short_escape, long_escape, non_ascii };

constexpr std::array<byte_kind, 256> byte_kinds = [] {
  std::array<byte_kind, 256> kinds{};
  for (std::size_t c = 0; c < kinds.size(); ++c) {
    if (short_escape(static_cast<unsigned char>(c)) != 0)
      kinds[c] = byte_kind::short_escape;
    else if (c < 0x20)
      kinds[c] = byte_kind::long_escape;
    else if (c >= 0x80)
      kinds[c] = byte_kind::non_ascii;
  }
  return kinds;
}();

// The bytes escaping adds to `c`: 1 for a two-character escape, 5 for any
// other control character (\u00XX), none for the rest.
std::size_t escape_extra(unsigned char c) {
  switch (byte_kinds[c]) {
    case byte_kind::short_escape: return 1;
    case byte_kind::long_escape: return 5;
    default: return 0;
  }
}

// `t` as a JSON string: its RFC 3339 text needs no escape.
void append_json_time(std::string& out, timestamp t) {
  out += '"';
  append_rfc3339(out, t);
  out += '"';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  const auto start = out.size();
  out += '"';
  // One pass, each byte looked up in a table; runs of bytes that need no
  // escape go in one append (per-character appends were 1 % of a request's
  // CPU: tests/bench/RESULTS.md, session 9).
  std::size_t plain = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto kind = byte_kinds[c];
    if (kind == byte_kind::plain) continue;
    if (kind == byte_kind::non_ascii) {
      // Beyond ASCII, nlohmann's own serializer: it checks the UTF-8 (and
      // replaces what is invalid, as dump_json does), which this loop does not.
      out.resize(start);
      return append_value(out, nlohmann::json(s));
    }
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    if (kind == byte_kind::short_escape) {
      out += '\\';
      out += short_escape(c);
    } else {
      out += "\\u00";
      append_hex(out, c, 2);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 4> min_cp{0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

namespace {

// The length of `s` escaped as append_json_string writes it, quotes
// included; none when it is not UTF-8.
std::optional<std::size_t> json_string_size(std::string_view s) {
  std::size_t n = s.size() + 2;
  bool ascii = true;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) ascii = false;
    n += escape_extra(c);
  }
  if (!ascii && !valid_utf8(s)) return std::nullopt;
  return n;
}

std::size_t decimal_digits(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 10; v /= 10) ++n;
  return n;
}

}  // namespace

std::optional<std::size_t> json_text_size(const nlohmann::json& v) {
  using t = nlohmann::json::value_t;
  switch (v.type()) {
    case t::null: return 4;
    case t::boolean: return v.get<bool>() ? 4 : 5;
    case t::number_integer: {
      const auto i = v.get<std::int64_t>();
      // The magnitude as unsigned, so that INT64_MIN does not overflow.
      const auto mag = i < 0 ? ~static_cast<std::uint64_t>(i) + 1 : static_cast<std::uint64_t>(i);
      return decimal_digits(mag) + (i < 0 ? 1 : 0);
    }
    case t::number_unsigned: return decimal_digits(v.get<std::uint64_t>());
    case t::string: return json_string_size(v.get_ref<const std::string&>());
    case t::array: {
      std::size_t n = 2 + (v.empty() ? 0 : v.size() - 1);  // brackets and commas
      for (const auto& e : v) {
        const auto m = json_text_size(e);
        if (!m) return std::nullopt;
        n += *m;
      }
      return n;
    }
    case t::object: {
      std::size_t n = 2 + (v.empty() ? 0 : v.size() - 1);  // braces and commas
      for (const auto& [key, value] : v.items()) {
        const auto k = json_string_size(key);
        const auto m = json_text_size(value);
        if (!k || !m) return std::nullopt;
        n += *k + 1 + *m;  // key, colon, value
      }
      return n;
    }
    default:  // floats (their shortest form is nlohmann's to write), binary, discarded: rare
      try {
        return v.dump().size();
      } catch (const nlohmann::json::type_error&) {
        return std::nullopt;
      }
  }
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
      default: return append_json_time(out, n.time);
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
  append_json_time(out, d.emitted_at);
  out += ",\"FirstReceivedAt\":";
  append_json_time(out, d.first_received_at);
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
