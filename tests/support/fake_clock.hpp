#pragma once
// A clock the test moves by hand: tests never sleep to let time pass.

#include <atomic>

#include "rollupd/core/time.hpp"

namespace rollup::testing {

class fake_clock final : public time_source {
 public:
  explicit fake_clock(timestamp start = *parse_rfc3339("2026-01-01T00:00:00Z")) : now_(to_nanos(start)) {}
  timestamp now() const override { return from_nanos(now_.load()); }
  void advance(duration d) { now_ += d.count(); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace rollup::testing
