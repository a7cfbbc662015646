#include "rollupd/core/decode.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "rollupd/core/json_text.hpp"

namespace rollup {
namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// The canonical spelling of each key SPEC §1 knows, by its lower-case form.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> known_keys{{
    {"email", "Email"},
    {"notification", "Notification"},
    {"timestamp", "Timestamp"},
    {"priority", "Priority"},
    {"id", "Id"},
}};

// The code points past ASCII that an email must not hold because they are
// unseen or move text around: C1 controls, Unicode's White_Space, the
// zero-width spaces and the bidirectional controls. "a\u00a0b@x.com" would
// print as "a b@x.com", and "a\u200bb@x.com" as another user's "ab@x.com".
// (The zero-width joiners U+200C and U+200D are letters' business in some
// scripts, and stay.)
bool unseen_or_moving(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
         c == 0x200E || c == 0x200F || (c >= 0x2028 && c <= 0x202F) || c == 0x205F || c == 0x2060 ||
         (c >= 0x2066 && c <= 0x2069) || c == 0x3000 || c == 0xFEFF;
}

// The first such code point of valid UTF-8 `s`, if any.
std::optional<char32_t> first_unseen_or_moving(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (unseen_or_moving(c)) return c;
    i += n;
  }
  return std::nullopt;
}

std::string code_point_name(char32_t c) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = c > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) out += digits[(c >> shift) & 0xF];
  return out;
}

}  // namespace

std::optional<priority> parse_priority(std::string_view text) {
  const auto t = lower(text);
  if (t == "low" || t == "0") return priority::low;
  if (t == "medium" || t == "1") return priority::medium;
  if (t == "high" || t == "2") return priority::high;
  return std::nullopt;
}

const char* priority_name(priority p) {
  switch (p) {
    case priority::low: return "LOW";
    case priority::medium: return "MEDIUM";
    case priority::high: return "HIGH";
  }
  return "LOW";
}

result<std::string> correlation_id_of(std::string_view raw) {
  const auto email = trim(raw);
  if (email.size() < 3 || email.size() > 254)
    return error{errc::validation_failed, "must be 3 to 254 bytes long after trimming", {}};
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7F)
      return error{errc::validation_failed, "must not contain whitespace or control characters", {}};
  }
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos)
    return error{errc::validation_failed, "must contain exactly one '@'", {}};
  if (at == 0) return error{errc::validation_failed, "must have a non-empty local part before '@'", {}};
  if (at + 1 == email.size()) return error{errc::validation_failed, "must have a non-empty domain after '@'", {}};
  if (!valid_utf8(email)) return error{errc::validation_failed, "must be valid UTF-8", {}};
  if (const auto c = first_unseen_or_moving(email))
    return error{errc::validation_failed,
                 "must not contain whitespace, control or invisible formatting characters (" + code_point_name(*c) +
                     ")",
                 {}};
  return lower(email);
}

result<notification> decode_notification(const json& value, timestamp received_at) {
  std::vector<field_error> errors;
  const auto fail = [&](std::string_view field, std::string rule) {
    errors.push_back(field_error{-1, std::string(field), std::move(rule)});
  };
  if (!value.is_object()) {
    fail("", "a notification must be a JSON object");
    return error{errc::validation_failed, "a notification must be a JSON object", std::move(errors)};
  }

  notification n;
  std::array<const json*, known_keys.size()> found{};
  std::array<int, known_keys.size()> seen{};  // spellings met, null ones included
  for (const auto& [key, v] : value.items()) {
    const auto k = lower(key);
    const auto it = std::find_if(known_keys.begin(), known_keys.end(), [&](const auto& p) { return p.first == k; });
    if (it == known_keys.end()) {
      n.extra[key] = v;
      continue;
    }
    const auto slot = static_cast<std::size_t>(it - known_keys.begin());
    if (++seen[slot] > 1) {
      if (seen[slot] == 2) fail(it->second, "given more than once (keys are matched case-insensitively)");
      continue;
    }
    // null stands for "not given", as with the Go encoder of the original service.
    if (!v.is_null()) found[slot] = &v;
  }

  // Email
  if (const json* e = found[0]; e == nullptr) {
    fail("Email", "is required");
  } else if (!e->is_string()) {
    fail("Email", "must be a string");
  } else {
    const auto& raw = e->get_ref<const std::string&>();
    auto cid = correlation_id_of(raw);
    if (!cid) {
      fail("Email", cid.err().detail);
    } else {
      n.correlation_id = std::move(*cid);
      n.email = std::string(trim(raw));
    }
  }
  // Notification
  if (const json* t = found[1]; t == nullptr) {
    fail("Notification", "is required");
  } else if (!t->is_string()) {
    fail("Notification", "must be a string");
  } else {
    const auto& text = t->get_ref<const std::string&>();
    if (text.empty() || text.size() > 16384)
      fail("Notification", "must be 1 to 16384 bytes long");
    else if (!valid_utf8(text))
      fail("Notification", "must be valid UTF-8");
    else
      n.text = text;
  }
  // Timestamp
  n.time = received_at;
  // Go's zero time is what the original service's producers send for an
  // unset time.Time: it means "not given".
  constexpr std::string_view go_zero_time = "0001-01-01T00:00:00Z";
  if (const json* ts = found[2]; ts != nullptr && !(ts->is_string() && ts->get_ref<const std::string&>() == go_zero_time)) {
    std::optional<timestamp> parsed;
    if (ts->is_string()) parsed = parse_rfc3339(ts->get_ref<const std::string&>());
    if (!parsed)
      fail("Timestamp",
           "must be an RFC 3339 date-time from 1677-09-21T00:12:43.145224192Z to "
           "2262-04-11T23:47:16.854775807Z, such as 2019-08-10T15:31:47.808596Z");
    else
      n.time = *parsed;
  }
  // Priority
  if (const json* p = found[3]; p != nullptr) {
    std::optional<priority> parsed;
    if (p->is_number_integer()) {
      const auto v = p->get<std::int64_t>();
      if (v >= 0 && v <= 2) parsed = static_cast<priority>(v);
    } else if (p->is_string()) {
      parsed = parse_priority(p->get_ref<const std::string&>());
    }
    if (!parsed)
      fail("Priority", "must be 0, 1 or 2, or LOW, MEDIUM or HIGH");
    else
      n.prio = *parsed;
  }
  // Id
  if (const json* id = found[4]; id != nullptr) {
    bool ok = id->is_string();
    if (ok) {
      const auto& s = id->get_ref<const std::string&>();
      ok = !s.empty() && s.size() <= 200 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
      if (ok) n.id = s;
    }
    if (!ok) fail("Id", "must be a string of 1 to 200 printable ASCII characters");
  }

  if (errors.empty()) {
    const auto size = json_text_size(value);
    if (!size)  // a string that is not UTF-8 (only in a value built in-process)
      fail("", "every string must be valid UTF-8");
    else if (*size > max_notification_json_bytes)
      fail("", "a notification, extra keys included, must be at most 65536 bytes as JSON");
  }

  if (!errors.empty()) {
    std::string detail;
    for (const auto& e : errors) {
      if (!detail.empty()) detail += "; ";
      detail += e.field.empty() ? e.rule : e.field + " " + e.rule;
    }
    return error{errc::validation_failed, std::move(detail), std::move(errors)};
  }
  return n;
}

result<std::vector<notification>> decode_body(const json& body, timestamp received_at) {
  if (body.is_object()) {
    auto one = decode_notification(body, received_at);
    if (!one) return one.err();
    std::vector<notification> out;
    out.push_back(std::move(*one));
    return out;
  }
  if (!body.is_array())
    return error{errc::validation_failed, "the body must be a notification object or an array of them",
                 {field_error{-1, "", "the body must be a JSON object or array"}}};
  if (body.empty() || body.size() > max_batch_size)
    return error{errc::validation_failed, "an array must hold 1 to 1000 notifications",
                 {field_error{-1, "", "an array must hold 1 to 1000 notifications"}}};

  std::vector<notification> out;
  out.reserve(body.size());
  std::vector<field_error> errors;
  std::string detail;
  for (std::size_t i = 0; i < body.size(); ++i) {
    auto one = decode_notification(body[i], received_at);
    if (one) {
      out.push_back(std::move(*one));
      continue;
    }
    for (auto fe : one.err().fields) {
      fe.index = static_cast<long>(i);
      errors.push_back(std::move(fe));
    }
    if (!detail.empty()) detail += "; ";
    detail += "[" + std::to_string(i) + "] " + one.err().detail;
  }
  if (!errors.empty()) return error{errc::validation_failed, "nothing was stored: " + detail, std::move(errors)};
  return out;
}

}  // namespace rollup
