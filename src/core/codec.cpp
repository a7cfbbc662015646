#include "rollupd/core/codec.hpp"

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

std::string encode_group(const group& g) {
  json j{{"v", storage_format_version},
         {"cid", g.correlation_id},
         {"first", to_nanos(g.first_received_at)},
         {"n", notifications_to_json(g.notifications)}};
  if (g.due_at) j["due"] = to_nanos(*g.due_at);
  return j.dump();
}

std::optional<group> decode_group(std::string_view bytes) {
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

std::string encode_digest(const digest& d) {
  return json{{"v", storage_format_version}, {"digest", to_json(d)}}.dump();
}

std::optional<digest> decode_digest(std::string_view bytes) {
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

}  // namespace rollup
