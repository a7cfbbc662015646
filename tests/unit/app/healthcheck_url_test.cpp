#include "rollupd/app/healthcheck.hpp"

#include <gtest/gtest.h>

namespace rollup::app {
namespace {

TEST(HealthcheckUrl, Parsed) {
  auto u = parse_http_url("http://127.0.0.1:8080/readyz");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/readyz");

  u = parse_http_url("http://[::1]:9/x?y=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9);
  EXPECT_EQ(u->target, "/x?y=1");

  u = parse_http_url("http://localhost");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
}

TEST(HealthcheckUrl, Refused) {
  for (const char* bad : {"https://h/", "h:80/", "http://", "http://:80/", "http://h:/", "http://h:99999/",
                          "http://[::1/", "http://h/a b", "http://[::1]x/"})
    EXPECT_FALSE(parse_http_url(bad).has_value()) << bad;
}

TEST(HealthcheckUrl, DefaultMapsWildcardsToLoopback) {
  EXPECT_EQ(default_healthcheck_url({"0.0.0.0", 8080}), "http://127.0.0.1:8080/readyz");
  EXPECT_EQ(default_healthcheck_url({"::", 81}), "http://[::1]:81/readyz");
  EXPECT_EQ(default_healthcheck_url({"10.0.0.1", 82}), "http://10.0.0.1:82/readyz");
}

}  // namespace
}  // namespace rollup::app
