#pragma once
// When to try a failed delivery again (SPEC §5): exponential backoff from
// 1 s doubling to a 10 min cap, with jitter, and the receiver's Retry-After
// honoured. Pure: the random draw comes in as an argument.

#include <optional>

#include "rollupd/core/time.hpp"

namespace rollup::delivery {

inline constexpr duration backoff_base = std::chrono::seconds{1};
inline constexpr duration backoff_cap = std::chrono::minutes{10};
inline constexpr duration retry_after_cap = std::chrono::hours{1};

// Delay before attempt `attempts + 1`, after `attempts` (>= 1) failures.
// `jitter` in [0, 1): the delay is drawn from [d/2, d) where d is the
// doubled, capped delay ("equal jitter"), so retries of many digests spread
// out but never come sooner than half the schedule. A Retry-After from the
// receiver wins when it asks for longer (capped at one hour).
duration backoff_delay(int attempts, double jitter, std::optional<duration> retry_after);

}  // namespace rollup::delivery
