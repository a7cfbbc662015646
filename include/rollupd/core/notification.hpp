#pragma once
// SecurityNotification (SPEC §1) after validation: every field normalised.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "rollupd/core/time.hpp"

namespace rollup {

enum class priority : int { low = 0, medium = 1, high = 2 };

// "LOW"/"MEDIUM"/"HIGH" in any case, or "0"/"1"/"2".
std::optional<priority> parse_priority(std::string_view text);
const char* priority_name(priority p);

struct notification {
  std::string email;           // trimmed, case kept as sent
  std::string correlation_id;  // trimmed email, ASCII lower-cased
  std::string text;            // the "Notification" field
  timestamp time;              // "Timestamp", UTC; time of receipt if absent
  priority prio = priority::low;
  std::optional<std::string> id;             // idempotency key (SPEC §6)
  nlohmann::json extra = nlohmann::json::object();  // other keys, as they came
};

}  // namespace rollup
