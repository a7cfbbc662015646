#pragma once
// The text of a Standard Webhooks signing secret, "whsec_" then standard
// base64 (RFC 4648 §4): the one rule for the configuration's check and for
// the signer that decodes the HMAC key from it.

#include <optional>
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

// The base64 part of "whsec_<base64>" (at least one byte's worth), or nothing
// when `secret` has another form.
constexpr std::optional<std::string_view> webhook_secret_base64(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (!secret.starts_with(prefix) || !is_base64(secret.substr(prefix.size()))) return std::nullopt;
  return secret.substr(prefix.size());
}

}  // namespace rollup
