#pragma once
// The digest Id numbered `n`: 32 hex digits (digest_id_size), ordered by `n`
// as id_generator's are by time.

#include <cstdint>
#include <string>

#include "rollupd/core/hex.hpp"

namespace rollup::testing {

inline std::string numbered_id(std::uint64_t n) {
  std::string s;
  append_hex(s, n, 16);
  append_hex(s, 0, 16);
  return s;
}

}  // namespace rollup::testing
