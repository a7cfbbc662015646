#include "rollupd/core/delivery_state.hpp"

#include <limits>

#include "rollupd/core/binary_form.hpp"
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

// Stored binary (binary_form.hpp): status, attempts, sink, last error, then
// each optional time as a presence byte and nanoseconds. The JSON form of
// earlier releases (it starts with '{') is still read.
std::string encode_delivery(const delivery_state& s) {
  binary::writer w(binary::delivery_v1);
  w.u8(static_cast<std::uint8_t>(s.status));
  w.u32(static_cast<std::uint32_t>(s.attempts));
  w.str(s.sink);
  w.str(s.last_error);
  for (const auto* t : {&s.next_attempt_at, &s.delivered_at}) {
    w.u8(*t ? 1 : 0);
    if (*t) w.i64(to_nanos(**t));
  }
  return std::move(w).take();
}

namespace {

std::optional<delivery_state> delivery_from_json_form(std::string_view bytes) {
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

}  // namespace

std::optional<delivery_state> decode_delivery(std::string_view bytes) {
  if (binary::is_json_form(bytes)) return delivery_from_json_form(bytes);
  binary::reader r(bytes, binary::delivery_v1);
  delivery_state s;
  std::uint8_t status = 0;
  std::uint32_t attempts = 0;
  if (!r.u8(status) || !r.u32(attempts) || !r.str(s.sink) || !r.str(s.last_error)) return std::nullopt;
  if (status > static_cast<std::uint8_t>(delivery_status::dead) || attempts > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) return std::nullopt;
  for (auto* t : {&s.next_attempt_at, &s.delivered_at}) {
    std::uint8_t present = 0;
    std::int64_t nanos = 0;
    if (!r.u8(present) || present > 1 || (present && !r.i64(nanos))) return std::nullopt;
    if (present) *t = from_nanos(nanos);
  }
  if (!r.done()) return std::nullopt;
  s.status = static_cast<delivery_status>(status);
  s.attempts = static_cast<int>(attempts);
  return s;
}

}  // namespace rollup
