#pragma once
// The HMAC key of a Standard Webhooks secret (private to delivery/).

#include <optional>
#include <string_view>
#include <vector>

namespace rollup::delivery {

// The decoded bytes of "whsec_<base64>"; empty when the secret has another
// form (the rule is core/webhook_secret.hpp's).
std::optional<std::vector<unsigned char>> webhook_secret_key(std::string_view secret);

}  // namespace rollup::delivery
