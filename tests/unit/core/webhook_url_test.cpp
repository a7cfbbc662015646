// The webhook URL rule, shared by the configuration's check and the webhook
// sink: a URL the configuration accepts is one the sink can send to.

#include "rollupd/core/webhook_url.hpp"

#include <gtest/gtest.h>

namespace rollup {
namespace {

webhook_url parsed(std::string_view text) {
  auto r = parse_webhook_url(text);
  EXPECT_TRUE(std::holds_alternative<webhook_url>(r)) << text << ": " << std::get<std::string>(r);
  return std::holds_alternative<webhook_url>(r) ? std::get<webhook_url>(r) : webhook_url{};
}

std::string refused(std::string_view text) {
  auto r = parse_webhook_url(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(r)) << text << " was accepted";
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string{};
}

TEST(WebhookUrl, TakesSchemeHostPortAndTarget) {
  const auto u = parsed("HTTPS://hooks.example.com:8443/in?k=v#frag");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "hooks.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/in?k=v");
  EXPECT_EQ(u.authority, "hooks.example.com:8443");
  EXPECT_EQ(u.display, "https://hooks.example.com:8443/in");  // no query: it may carry a token
}

TEST(WebhookUrl, DefaultsPortAndTarget) {
  const auto u = parsed("http://127.0.0.1");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.authority, "127.0.0.1");
  EXPECT_EQ(parsed("http://x?q=1").target, "/?q=1");
}

TEST(WebhookUrl, TakesIpv6Literals) {
  const auto u = parsed("http://[::1]:9000/h");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.authority, "[::1]:9000");
}

TEST(WebhookUrl, SaysWhatIsWrong) {
  EXPECT_EQ(refused("ftp://x"), "must start with http:// or https://");
  EXPECT_EQ(refused("http://"), "has no host");
  EXPECT_EQ(refused("http://:80/"), "has no host");
  EXPECT_EQ(refused("https:///path"), "has no host");
  EXPECT_EQ(refused("http://a b/"), "must not contain spaces or control characters");
  EXPECT_EQ(refused("http://user@x/"), "must not contain user info (user@host)");
  EXPECT_EQ(refused("http://[::1/"), "has a malformed IPv6 host");
  EXPECT_EQ(refused("http://x:/"), "has an empty port");
  for (const char* port : {"0", "99999", "abc", "-1", "80x"})
    EXPECT_EQ(refused(std::string("http://x:") + port + "/"), std::string("has an invalid port \"") + port + "\" (1-65535)");
}

}  // namespace
}  // namespace rollup
