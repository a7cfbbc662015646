#pragma once
// A place digests are delivered to (SPEC §5). The dispatcher owns retries,
// backoff, ordering and dead letters; a sink only makes one attempt.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "rollupd/core/strategy.hpp"
#include "rollupd/core/time.hpp"

namespace rollup::delivery {

struct attempt_outcome {
  bool confirmed = false;               // the sink took the digest; it may be retired
  std::string error;                    // what went wrong, for a person (when !confirmed)
  std::optional<duration> retry_after;  // the receiver asked to wait this long (HTTP Retry-After)
};

class sink {
 public:
  virtual ~sink() = default;
  // Stable name used in storage keys and the API: "log", "file", "webhook".
  virtual std::string_view name() const = 0;
  // Whether deliver() reads `body`; a sink that does not is spared the
  // JSON text of every digest.
  virtual bool uses_body() const { return true; }
  // Whether deliver() always calls `done` before it returns: then no attempt
  // waits on a receiver, and the dispatcher keeps more of them "in flight"
  // (confirmed, waiting to be retired together in one write).
  virtual bool finishes_inline() const { return false; }
  // One attempt to deliver `d`, whose JSON text (SPEC §3) is `body` (empty
  // when uses_body() is false).
  // Calls `done` exactly once, on any thread, possibly before returning.
  virtual void deliver(const digest& d, const std::string& body, std::function<void(attempt_outcome)> done) = 0;
  // Abandons attempts in flight (their `done` reports a failure). Thread-safe.
  virtual void cancel() {}
};

}  // namespace rollup::delivery
