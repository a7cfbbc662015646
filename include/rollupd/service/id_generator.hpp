#pragma once
// Digest Ids: 32 hex characters, unique, and ordered by the time they were
// made (48 bits of milliseconds, a 16-bit sequence, 64 random bits), so the
// digest store lists newest first by walking its keys backwards.

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "rollupd/core/time.hpp"

namespace rollup {

class id_generator {
 public:
  id_generator();
  std::string next(timestamp now);  // thread-safe

 private:
  std::mutex mutex_;
  std::uint64_t last_ms_ = 0;
  std::uint32_t seq_ = 0;
  std::mt19937_64 random_;
};

}  // namespace rollup
