// Standard Webhooks signing (https://www.standardwebhooks.com/): the key is
// the base64 text after "whsec_", the signed content "id.timestamp.body".

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rollupd/core/webhook_secret.hpp"
#include "rollupd/delivery/webhook_sink.hpp"
#include "webhook_signature.hpp"

namespace rollup::delivery {
namespace {

// The bytes of text that is_base64 accepts (EVP_DecodeBlock alone would skip
// whitespace, so the caller checks first). EVP_DecodeBlock wants whole groups
// of four and counts their padding as bytes: pad, decode, then drop those.
std::optional<std::vector<unsigned char>> decode_base64(std::string_view input) {
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
  const auto text = webhook_secret_base64(secret);
  // A million characters is far beyond any key and keeps decode's int cast safe.
  if (!text || text->size() > 1'000'000) return std::nullopt;
  return decode_base64(*text);
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
