#pragma once
#include "rollupd/core/time.hpp"

namespace rollup {

// The real clock (UTC wall time).
class system_clock final : public time_source {
 public:
  timestamp now() const override;
};

}  // namespace rollup
