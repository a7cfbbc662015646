#include "rollupd/service/system_clock.hpp"

namespace rollup {

timestamp system_clock::now() const {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

}  // namespace rollup
