#pragma once
// The aggregation strategy (SPEC §2): one pure function, no I/O, no clock,
// no globals. Everything it needs comes in through its arguments.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "rollupd/core/notification.hpp"
#include "rollupd/core/time.hpp"

namespace rollup {

struct policy {
  std::size_t max_notifications = 3;   // rule 2: complete at this many
  priority flush_priority = priority::high;  // rule 1: complete at or above
};

// An open group: the notifications of one correlation ID, in arrival order.
struct group {
  std::string correlation_id;
  timestamp first_received_at;
  std::vector<notification> notifications;
  // When the group completes by timeout (rule 3); set by the service when
  // the group opens, empty when completion_timeout is 0. The strategy keeps it.
  std::optional<timestamp> due_at;
};

// Stored by number (core/codec.cpp): add new reasons at the end only.
enum class completion_reason { priority, count, timeout, flush };
const char* reason_name(completion_reason r);

// Digest Ids are all this long (id_generator: 32 hex digits).
inline constexpr std::size_t digest_id_size = 32;

// SPEC §3: AggregateNotification.
struct digest {
  std::string id;
  std::string email;  // the correlation ID
  completion_reason reason = completion_reason::count;
  timestamp first_received_at;
  timestamp emitted_at;
  bool late = false;
  std::vector<notification> notifications;
};

// One notification arriving. `digest_id` is the fresh, unique Id the digest
// takes if this event completes the group.
struct event {
  notification item;
  timestamp received_at;
  std::string digest_id;
};

struct outcome {
  std::optional<digest> emitted;  // set when the group completed
  std::optional<group> state;     // the open group afterwards; empty when none
};

// Appends the event to `state` (or starts a group), then completes it by
// rule 1 (priority) or rule 2 (count), checked in that order.
outcome strategy(event ev, std::optional<group> state, const policy& p);

// Rule 3: the group is due at `now`.
bool is_due(const group& g, timestamp now);

// Completes an open group outside the request path (timeout, flush).
digest complete(group g, completion_reason why, std::string digest_id, timestamp emitted_at, bool late);

}  // namespace rollup
