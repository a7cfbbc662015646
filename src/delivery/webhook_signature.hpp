#pragma once
// The HMAC key of a Standard Webhooks secret (private to delivery/).

#include <optional>
#include <string_view>
#include <vector>

namespace rollup::delivery {

// The decoded bytes of "whsec_<base64>" (standard base64, padding optional); empty when
// the prefix is missing, the base64 is invalid or the key has no bytes.
std::optional<std::vector<unsigned char>> webhook_secret_key(std::string_view secret);

}  // namespace rollup::delivery
