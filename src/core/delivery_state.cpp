#include "rollupd/core/delivery_state.hpp"

#include "rollupd/core/codec.hpp"

namespace rollup {

using nlohmann::json;

const char* status_name(delivery_status s) {
  switch (s) {
    case delivery_status::pending: return "pending";
    case delivery_status::delivered: return "delivered";
    case delivery_status::dead: return "dead";
  }
  return "pending";
}

json to_json(const delivery_state& s) {
  const auto time_or_null = [](const std::optional<timestamp>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); };
  return json{{"State", status_name(s.status)},
              {"Attempts", s.attempts},
              {"LastError", s.last_error.empty() ? json(nullptr) : json(s.last_error)},
              {"NextAttemptAt", time_or_null(s.next_attempt_at)},
              {"DeliveredAt", time_or_null(s.delivered_at)}};
}

std::string encode_delivery(const delivery_state& s) {
  json j{{"v", storage_format_version},
         {"sink", s.sink},
         {"status", static_cast<int>(s.status)},
         {"attempts", s.attempts},
         {"error", s.last_error}};
  if (s.next_attempt_at) j["next"] = to_nanos(*s.next_attempt_at);
  if (s.delivered_at) j["delivered"] = to_nanos(*s.delivered_at);
  return j.dump();
}

std::optional<delivery_state> decode_delivery(std::string_view bytes) {
  const auto j = json::parse(bytes, nullptr, false);
  if (!current_version(j)) return std::nullopt;
  delivery_state s;
  const auto sink = j.find("sink");
  const auto status = j.find("status");
  const auto attempts = j.find("attempts");
  const auto err = j.find("error");
  if (sink == j.end() || !sink->is_string() || status == j.end() || !status->is_number_integer() ||
      attempts == j.end() || !attempts->is_number_integer() || err == j.end() || !err->is_string())
    return std::nullopt;
  const auto st = status->get<std::int64_t>();
  if (st < 0 || st > 2) return std::nullopt;
  s.sink = sink->get<std::string>();
  s.status = static_cast<delivery_status>(st);
  s.attempts = static_cast<int>(attempts->get<std::int64_t>());
  s.last_error = err->get<std::string>();
  for (auto [key, field] : {std::pair{"next", &s.next_attempt_at}, std::pair{"delivered", &s.delivered_at}}) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_number_integer()) return std::nullopt;
    *field = from_nanos(it->get<std::int64_t>());
  }
  return s;
}

}  // namespace rollup
