#pragma once
// Lower-case hexadecimal digits, for every place that writes them: digest
// Ids and the \u00XX escapes of JSON and TOML text.

#include <cstddef>
#include <cstdint>
#include <string>

namespace rollup {

// Appends the low `digits` hexadecimal digits of `v`, most significant
// first, zero-padded.
inline void append_hex(std::string& out, std::uint64_t v, std::size_t digits) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto at = out.size();
  out.resize(at + digits);
  for (std::size_t i = digits; i-- > 0; v >>= 4) out[at + i] = hex[v & 0xF];
}

}  // namespace rollup
