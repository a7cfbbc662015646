#include "rollupd/delivery/backoff.hpp"

#include <algorithm>

namespace rollup::delivery {

duration backoff_delay(int attempts, double jitter, std::optional<duration> retry_after) {
  duration d = backoff_base;
  for (int i = 1; i < attempts && d < backoff_cap; ++i) d *= 2;
  d = std::min(d, backoff_cap);
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto half = d / 2;
  const auto jittered = half + std::chrono::duration_cast<duration>(half * jitter);
  if (retry_after) return std::max(jittered, std::min(*retry_after, retry_after_cap));
  return jittered;
}

}  // namespace rollup::delivery
