#pragma once
// Standard base64 text (RFC 4648 §4), for every place that checks it: the
// webhook secret in the configuration and the HMAC key decoded from it.

#include <string_view>

namespace rollup {

// True when `s` is standard base64 with its padding optional: one or more of
// A-Z a-z 0-9 + /, a length that decodes to whole bytes, then no more '='
// than the last group of four needs ("YWI", "YWI=" yes; "YWJj=", "Y" no).
constexpr bool is_base64(std::string_view s) {
  const auto data = s.substr(0, s.find_last_not_of('=') + 1);  // npos + 1 == 0: all '='
  const auto padding = s.size() - data.size();
  const auto tail = data.size() % 4;
  if (data.empty() || tail == 1 || padding > (4 - tail) % 4) return false;
  for (const char c : data)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  return true;
}

}  // namespace rollup
