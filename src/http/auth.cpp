#include "rollupd/http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <boost/beast/http/field.hpp>

namespace rollup::http {
namespace {

using sha256 = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

sha256 hash(std::string_view s) {
  sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out.data());
  return out;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Equal-length digests make the comparison independent of both lengths.
  const auto ha = hash(a);
  const auto hb = hash(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

bool needs_token(std::string_view path) {
  return path == "/notifications" || path.starts_with("/notifications?") || path == "/v1" || path.starts_with("/v1/") ||
         path.starts_with("/v1?");
}

bool has_bearer_token(const request& req, std::string_view token) {
  const auto it = req.find(boost::beast::http::field::authorization);
  if (it == req.end()) return false;
  auto value = trim(std::string_view(it->value().data(), it->value().size()));
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || !iequals_ascii(value.substr(0, scheme.size()), scheme) ||
      (value[scheme.size()] != ' ' && value[scheme.size()] != '\t'))
    return false;
  return constant_time_equal(trim(value.substr(scheme.size())), token);
}

}  // namespace rollup::http
