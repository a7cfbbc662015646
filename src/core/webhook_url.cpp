#include "rollupd/core/webhook_url.hpp"

#include <charconv>

namespace rollup {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool is_control_or_space(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

}  // namespace

std::variant<webhook_url, std::string> parse_webhook_url(std::string_view url) {
  webhook_url out;
  std::string_view rest;
  if (iequals_prefix(url, "http://")) {
    rest = url.substr(7);
  } else if (iequals_prefix(url, "https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return std::string("must start with http:// or https://");
  }
  for (char c : url)
    if (is_control_or_space(c)) return std::string("must not contain spaces or control characters");

  // A fragment is never sent.
  rest = rest.substr(0, rest.find('#'));
  const auto slash = rest.find_first_of("/?");
  const auto auth = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (auth.empty()) return std::string("has no host");
  if (auth.find('@') != std::string_view::npos) return std::string("must not contain user info (user@host)");

  std::string_view host;
  std::string_view port;
  bool v6 = false;
  if (auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos || close == 1) return std::string("has a malformed IPv6 host");
    host = auth.substr(1, close - 1);
    v6 = true;
    const auto after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("has a malformed IPv6 host");
      port = after.substr(1);
      if (port.empty()) return std::string("has an empty port");
    }
  } else {
    const auto colon = auth.find(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = auth.substr(colon + 1);
      if (port.empty()) return std::string("has an empty port");
    }
  }
  if (host.empty()) return std::string("has no host");

  const std::uint16_t default_port = out.tls ? 443 : 80;
  out.port = default_port;
  if (!port.empty()) {
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
      return std::string("has an invalid port \"") + std::string(port) + "\" (1-65535)";
    out.port = static_cast<std::uint16_t>(n);
  }

  out.host = std::string(host);
  out.authority = v6 ? "[" + out.host + "]" : out.host;
  if (out.port != default_port) out.authority += ":" + std::to_string(out.port);
  out.target = std::string(target);
  if (out.target.empty() || out.target.front() == '?') out.target.insert(0, "/");
  out.display = (out.tls ? "https://" : "http://") + out.authority + out.target.substr(0, out.target.find('?'));
  return out;
}

}  // namespace rollup
