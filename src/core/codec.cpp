#include "rollupd/core/codec.hpp"

#include <algorithm>

#include "rollupd/core/binary_form.hpp"
#include "rollupd/core/decode.hpp"

namespace rollup {
namespace {

using nlohmann::json;

// Reads back a notification written by to_json(notification). Trusts its
// input (it came from our own storage) but never crashes on a bad one.
// A known key of the wrong type, or a missing required one, makes the value
// unreadable: it is never passed off as an extra key or a default.
std::optional<notification> notification_from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  notification n;
  bool has_text = false, has_time = false, has_prio = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "Email") {
      if (!v.is_string()) return std::nullopt;
      n.email = v.get<std::string>();
    } else if (key == "Notification") {
      if (!v.is_string()) return std::nullopt;
      n.text = v.get<std::string>();
      has_text = true;
    } else if (key == "Timestamp") {
      if (!v.is_string()) return std::nullopt;
      auto t = parse_rfc3339(v.get_ref<const std::string&>());
      if (!t) return std::nullopt;
      n.time = *t;
      has_time = true;
    } else if (key == "Priority") {
      if (!v.is_number_integer()) return std::nullopt;
      const auto p = v.get<std::int64_t>();
      if (p < 0 || p > 2) return std::nullopt;
      n.prio = static_cast<priority>(p);
      has_prio = true;
    } else if (key == "Id") {
      if (!v.is_string()) return std::nullopt;
      n.id = v.get<std::string>();
    } else {
      n.extra[key] = v;
    }
  }
  if (!has_text || !has_time || !has_prio) return std::nullopt;
  auto cid = correlation_id_of(n.email);
  if (!cid) return std::nullopt;
  n.correlation_id = std::move(*cid);
  return n;
}

json notifications_to_json(const std::vector<notification>& ns) {
  json arr = json::array();
  for (const auto& n : ns) arr.push_back(to_json(n));
  return arr;
}

std::optional<std::vector<notification>> notifications_from_json(const json& arr) {
  if (!arr.is_array()) return std::nullopt;
  std::vector<notification> out;
  out.reserve(arr.size());
  for (const auto& j : arr) {
    auto n = notification_from_json(j);
    if (!n) return std::nullopt;
    out.push_back(std::move(*n));
  }
  return out;
}

std::optional<completion_reason> reason_from(std::string_view s) {
  for (auto r : {completion_reason::priority, completion_reason::count, completion_reason::timeout,
                 completion_reason::flush})
    if (s == reason_name(r)) return r;
  return std::nullopt;
}

// The value's format version is this release's, as an integer.
}  // namespace

bool current_version(const json& j) {
  if (!j.is_object()) return false;
  const auto v = j.find("v");
  return v != j.end() && v->is_number_integer() && v->get<std::int64_t>() == storage_format_version;
}

json to_json(const notification& n) {
  json j = n.extra;
  j["Email"] = n.email;
  j["Notification"] = n.text;
  j["Timestamp"] = format_rfc3339(n.time);
  j["Priority"] = static_cast<int>(n.prio);
  if (n.id) j["Id"] = *n.id;
  return j;
}

json to_json(const digest& d) {
  return json{{"Id", d.id},
              {"Email", d.email},
              {"Reason", reason_name(d.reason)},
              {"Count", d.notifications.size()},
              {"FirstReceivedAt", format_rfc3339(d.first_received_at)},
              {"EmittedAt", format_rfc3339(d.emitted_at)},
              {"Late", d.late},
              {"Notifications", notifications_to_json(d.notifications)}};
}

// --- storage forms ---------------------------------------------------------
//
// Groups and digests are read and written on every cycle and delivery, so
// they are stored binary (binary_form.hpp). A notification is: email, text,
// time (nanoseconds), priority, whether it has an Id and the Id, then its
// other keys as JSON text ("" when it has none). The JSON forms of earlier
// releases (they start with '{') are still read.

namespace {

void write_notifications(binary::writer& w, const std::vector<notification>& ns) {
  w.u32(static_cast<std::uint32_t>(ns.size()));
  for (const auto& n : ns) {
    w.str(n.email);
    w.str(n.text);
    w.i64(to_nanos(n.time));
    w.u8(static_cast<std::uint8_t>(n.prio));
    w.u8(n.id ? 1 : 0);
    if (n.id) w.str(*n.id);
    w.str(n.extra.empty() ? std::string() : n.extra.dump());
  }
}

// Empty on a value that does not read back as a list of notifications.
std::optional<std::vector<notification>> read_notifications(binary::reader& r) {
  std::uint32_t count = 0;
  if (!r.u32(count)) return std::nullopt;
  std::vector<notification> out;
  out.reserve(std::min<std::size_t>(count, r.left() / 16));  // each takes at least 16 bytes
  for (std::uint32_t i = 0; i < count; ++i) {
    notification n;
    std::int64_t time = 0;
    std::uint8_t prio = 0, has_id = 0;
    std::string extra;
    if (!r.str(n.email) || !r.str(n.text) || !r.i64(time) || !r.u8(prio) || !r.u8(has_id)) return std::nullopt;
    if (prio > 2 || has_id > 1) return std::nullopt;
    if (has_id) {
      n.id.emplace();
      if (!r.str(*n.id)) return std::nullopt;
    }
    if (!r.str(extra)) return std::nullopt;
    if (!extra.empty()) {
      n.extra = json::parse(extra, nullptr, false);
      if (!n.extra.is_object()) return std::nullopt;
    }
    auto cid = correlation_id_of(n.email);
    if (!cid) return std::nullopt;
    n.correlation_id = std::move(*cid);
    n.time = from_nanos(time);
    n.prio = static_cast<priority>(prio);
    out.push_back(std::move(n));
  }
  return out;
}

std::optional<group> group_from_json_form(std::string_view bytes) {
  const auto j = json::parse(bytes, nullptr, false);
  if (!j.is_object() || !current_version(j)) return std::nullopt;
  const auto cid = j.find("cid");
  const auto first = j.find("first");
  const auto ns = j.find("n");
  if (cid == j.end() || !cid->is_string() || first == j.end() || !first->is_number_integer() || ns == j.end())
    return std::nullopt;
  auto list = notifications_from_json(*ns);
  if (!list) return std::nullopt;
  std::optional<timestamp> due;
  if (const auto d = j.find("due"); d != j.end()) {
    if (!d->is_number_integer()) return std::nullopt;
    due = from_nanos(d->get<std::int64_t>());
  }
  return group{cid->get<std::string>(), from_nanos(first->get<std::int64_t>()), std::move(*list), due};
}

std::optional<digest> digest_from_json_form(std::string_view bytes) {
  const auto j = json::parse(bytes, nullptr, false);
  if (!j.is_object() || !current_version(j)) return std::nullopt;
  const auto dj = j.find("digest");
  if (dj == j.end() || !dj->is_object()) return std::nullopt;
  try {
    digest d;
    d.id = dj->at("Id").get<std::string>();
    d.email = dj->at("Email").get<std::string>();
    auto why = reason_from(dj->at("Reason").get<std::string>());
    auto first = parse_rfc3339(dj->at("FirstReceivedAt").get<std::string>());
    auto emitted = parse_rfc3339(dj->at("EmittedAt").get<std::string>());
    auto list = notifications_from_json(dj->at("Notifications"));
    if (!why || !first || !emitted || !list) return std::nullopt;
    d.reason = *why;
    d.first_received_at = *first;
    d.emitted_at = *emitted;
    d.late = dj->at("Late").get<bool>();
    d.notifications = std::move(*list);
    return d;
  } catch (const json::exception&) {
    return std::nullopt;  // a value of the wrong type: unreadable, not fatal
  }
}

}  // namespace

std::string encode_group(const group& g) {
  binary::writer w(binary::group_v1);
  w.str(g.correlation_id);
  w.i64(to_nanos(g.first_received_at));
  w.u8(g.due_at ? 1 : 0);
  if (g.due_at) w.i64(to_nanos(*g.due_at));
  write_notifications(w, g.notifications);
  return std::move(w).take();
}

std::optional<group> decode_group(std::string_view bytes) {
  if (binary::is_json_form(bytes)) return group_from_json_form(bytes);
  binary::reader r(bytes, binary::group_v1);
  group g;
  std::int64_t first = 0, due = 0;
  std::uint8_t has_due = 0;
  if (!r.str(g.correlation_id) || !r.i64(first) || !r.u8(has_due) || has_due > 1) return std::nullopt;
  if (has_due && !r.i64(due)) return std::nullopt;
  auto list = read_notifications(r);
  if (!list || !r.done()) return std::nullopt;
  g.first_received_at = from_nanos(first);
  if (has_due) g.due_at = from_nanos(due);
  g.notifications = std::move(*list);
  return g;
}

std::string encode_digest(const digest& d) {
  binary::writer w(binary::digest_v1);
  w.str(d.id);
  w.str(d.email);
  w.u8(static_cast<std::uint8_t>(d.reason));
  w.i64(to_nanos(d.first_received_at));
  w.i64(to_nanos(d.emitted_at));
  w.u8(d.late ? 1 : 0);
  write_notifications(w, d.notifications);
  return std::move(w).take();
}

std::optional<digest> decode_digest(std::string_view bytes) {
  if (binary::is_json_form(bytes)) return digest_from_json_form(bytes);
  binary::reader r(bytes, binary::digest_v1);
  digest d;
  std::int64_t first = 0, emitted = 0;
  std::uint8_t why = 0, late = 0;
  if (!r.str(d.id) || !r.str(d.email) || !r.u8(why) || !r.i64(first) || !r.i64(emitted) || !r.u8(late))
    return std::nullopt;
  if (why > static_cast<std::uint8_t>(completion_reason::flush) || late > 1) return std::nullopt;
  auto list = read_notifications(r);
  if (!list || !r.done()) return std::nullopt;
  d.reason = static_cast<completion_reason>(why);
  d.first_received_at = from_nanos(first);
  d.emitted_at = from_nanos(emitted);
  d.late = late == 1;
  d.notifications = std::move(*list);
  return d;
}

}  // namespace rollup
