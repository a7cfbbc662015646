// Standard Webhooks signing (https://www.standardwebhooks.com/): the key is
// the base64 text after "whsec_", the signed content "id.timestamp.body".

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rollupd/core/base64.hpp"
#include "rollupd/delivery/webhook_sink.hpp"
#include "webhook_signature.hpp"

namespace rollup::delivery {
namespace {

constexpr std::string_view secret_prefix = "whsec_";

// Standard base64, padding optional (EVP_DecodeBlock alone skips whitespace
// and keeps the padding bytes, so check first). A million characters is far
// beyond any key and keeps the int cast safe.
std::optional<std::vector<unsigned char>> decode_base64(std::string_view input) {
  if (input.size() > 1'000'000 || !is_base64(input)) return std::nullopt;
  std::string text(input);
  text.append((4 - text.size() % 4) % 4, '=');
  const std::size_t pad = text.size() - (text.find_last_not_of('=') + 1);
  std::vector<unsigned char> out(text.size() / 4 * 3);
  const int n =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  return out;
}

std::string encode_base64(const unsigned char* data, std::size_t size) {
  std::string out((size + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock writes a trailing NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

}  // namespace

std::optional<std::vector<unsigned char>> webhook_secret_key(std::string_view secret) {
  if (secret.substr(0, secret_prefix.size()) != secret_prefix) return std::nullopt;
  auto key = decode_base64(secret.substr(secret_prefix.size()));
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string webhook_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                              const std::string& body) {
  const auto key = webhook_secret_key(secret);
  if (!key) return {};
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(1, '.').append(timestamp).append(1, '.').append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(), &mac_size) == nullptr)
    return {};
  return "v1," + encode_base64(mac.data(), mac_size);
}

}  // namespace rollup::delivery
