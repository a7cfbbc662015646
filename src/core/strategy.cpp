#include "rollupd/core/strategy.hpp"

#include <utility>

namespace rollup {

const char* reason_name(completion_reason r) {
  switch (r) {
    case completion_reason::priority: return "priority";
    case completion_reason::count: return "count";
    case completion_reason::timeout: return "timeout";
    case completion_reason::flush: return "flush";
  }
  return "count";
}

digest complete(group g, completion_reason why, std::string digest_id, timestamp emitted_at, bool late) {
  return digest{std::move(digest_id), std::move(g.correlation_id), why, g.first_received_at,
                emitted_at,           late,                         std::move(g.notifications)};
}

outcome strategy(event ev, std::optional<group> state, const policy& p) {
  group g = state ? std::move(*state) : group{ev.item.correlation_id, ev.received_at, {}, std::nullopt};
  const auto prio = ev.item.prio;
  g.notifications.push_back(std::move(ev.item));

  std::optional<completion_reason> why;
  if (prio >= p.flush_priority)
    why = completion_reason::priority;
  else if (g.notifications.size() >= p.max_notifications)
    why = completion_reason::count;

  if (!why) return outcome{std::nullopt, std::move(g)};
  return outcome{complete(std::move(g), *why, std::move(ev.digest_id), ev.received_at, false), std::nullopt};
}

bool is_due(const group& g, timestamp now) { return g.due_at.has_value() && *g.due_at <= now; }

}  // namespace rollup
