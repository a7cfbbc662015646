#pragma once
// Where one digest stands with one sink (SPEC §5), as the API shows it.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "rollupd/core/time.hpp"

namespace rollup {

// Stored by number (core/delivery_state.cpp): add new states at the end only.
enum class delivery_status { pending, delivered, dead };
const char* status_name(delivery_status s);

struct delivery_state {
  std::string sink;
  delivery_status status = delivery_status::pending;
  int attempts = 0;                          // attempts made so far
  std::string last_error;                    // empty when none failed
  std::optional<timestamp> next_attempt_at;  // pending only
  std::optional<timestamp> delivered_at;     // delivered only
};

// {"State","Attempts","LastError","NextAttemptAt","DeliveredAt"}
nlohmann::json to_json(const delivery_state& s);

// Storage form ("v" versioned); empty when unreadable.
std::string encode_delivery(const delivery_state& s);
std::optional<delivery_state> decode_delivery(std::string_view bytes);

}  // namespace rollup
