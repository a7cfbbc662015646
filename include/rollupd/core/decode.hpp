#pragma once
// Validation of untrusted input (SPEC §1). Pure: no I/O, no clock.

#include <nlohmann/json.hpp>
#include <vector>

#include "rollupd/core/error.hpp"
#include "rollupd/core/notification.hpp"

namespace rollup {

inline constexpr std::size_t max_batch_size = 1000;
inline constexpr std::size_t max_notification_json_bytes = 64 * 1024;

// One SecurityNotification object. `received_at` fills a missing Timestamp.
// On failure: errc::validation_failed with every broken rule in `fields`.
result<notification> decode_notification(const nlohmann::json& value, timestamp received_at);

// A request body: one object, or an array of 1..1000 objects. All elements
// are validated before any is accepted; the error names each bad index.
result<std::vector<notification>> decode_body(const nlohmann::json& body, timestamp received_at);

// Trims and checks an email as SPEC §1 says; returns the correlation ID or
// the rule it broke.
result<std::string> correlation_id_of(std::string_view email);

}  // namespace rollup
