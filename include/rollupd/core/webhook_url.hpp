#pragma once
// The parts of a webhook URL the sink needs: the one rule for the
// configuration's check and for the webhook sink that sends to it.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace rollup {

struct webhook_url {
  bool tls = false;        // https
  std::string host;        // without brackets for IPv6 literals
  std::uint16_t port = 0;  // the explicit port, or 80 / 443
  std::string target;      // path and query, at least "/"
  std::string authority;   // host[:port] as sent in Host (brackets for IPv6, default port left out)
  std::string display;     // scheme://authority/path, for messages: no query (it may carry a token)
};

// Parses "http://host[:port][/path][?query]" or "https://…". The scheme is
// case-insensitive; user info ("user@host") is refused so that credentials
// never reach messages. On failure, holds a sentence naming what is wrong.
std::variant<webhook_url, std::string> parse_webhook_url(std::string_view url);

}  // namespace rollup
