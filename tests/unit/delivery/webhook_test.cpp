// The webhook sink's pure parts: Standard Webhooks signing, Retry-After and
// option checks. No sockets (the sink's I/O is in tests/integration).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "rollupd/delivery/webhook_sink.hpp"

namespace rollup::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The Standard Webhooks specification's published test vector
// (github.com/standard-webhooks/standard-webhooks README).
constexpr const char* vector_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* vector_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr const char* vector_timestamp = "1614265330";
constexpr const char* vector_body = R"({"test": 2432232314})";

TEST(WebhookSignature, MatchesTheStandardWebhooksVector) {
  EXPECT_EQ(webhook_signature(vector_secret, vector_id, vector_timestamp, vector_body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

// Expected values computed independently with the openssl command line:
//   printf '%s' '<id>.<timestamp>.<body>' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of the decoded key> -binary | base64
TEST(WebhookSignature, MatchesOpensslForOtherInputs) {
  EXPECT_EQ(webhook_signature(vector_secret, "msg_id", vector_timestamp, vector_body),
            "v1,rx0buEjQHvdTCdvWxQdwIzzSxQevbHwDXPPYIssGsms=");
  // A key whose base64 is padded ("abc" is "YWJj"; here padding-free too).
  EXPECT_EQ(webhook_signature("whsec_YWJj", "msg_2", "1700000000", "{}"),
            "v1,8/XQgbqHYd+fKWOAybSpYMaR6DPsqwIRP4Xx/IMSN7s=");
}

TEST(WebhookSignature, ChangesWithEveryPart) {
  const auto base = webhook_signature(vector_secret, vector_id, vector_timestamp, vector_body);
  EXPECT_NE(webhook_signature(vector_secret, "msg_other", vector_timestamp, vector_body), base);
  EXPECT_NE(webhook_signature(vector_secret, vector_id, "1614265331", vector_body), base);
  EXPECT_NE(webhook_signature(vector_secret, vector_id, vector_timestamp, R"({"test": 2432232315})"), base);
  EXPECT_NE(webhook_signature("whsec_YWJj", vector_id, vector_timestamp, vector_body), base);
}

TEST(WebhookSignature, PaddedAndUnpaddedKeysAgree) {
  // "ab" is "YWI=" padded.
  EXPECT_EQ(webhook_signature("whsec_YWI=", "a", "1", "b"), webhook_signature("whsec_YWI", "a", "1", "b"));
  EXPECT_THAT(webhook_signature("whsec_YWI=", "a", "1", "b"), StartsWith("v1,"));
}

TEST(WebhookSignature, EmptyForSecretsThatCannotBeDecoded) {
  for (const char* bad : {"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_YWJj\n",
                          "whsec_Y", "whsec_YW=j", "whsec_====", "whsec_YWJj=", "WHSEC_YWJj", "whsec_YW-_"}) {
    EXPECT_EQ(webhook_signature(bad, vector_id, vector_timestamp, vector_body), "") << '"' << bad << '"';
  }
}

timestamp at(std::int64_t unix_seconds) { return timestamp{std::chrono::seconds{unix_seconds}}; }

// Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::int64_t rfc_example = 784111777;

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", at(0)), duration{120s});
  EXPECT_EQ(parse_retry_after("0", at(0)), duration{0s});
  EXPECT_EQ(parse_retry_after("7", at(rfc_example)), duration{7s});
  EXPECT_EQ(parse_retry_after(" 30\t", at(0)), duration{30s});  // surrounding whitespace
  EXPECT_EQ(parse_retry_after("0007", at(0)), duration{7s});
}

TEST(RetryAfter, HttpDateInTheFuture) {
  const auto now = at(rfc_example - 90);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), duration{90s});
  // The two obsolete forms a recipient must also accept.
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), duration{90s});
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), duration{90s});
  // A fraction of a second already gone counts.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 250ms), duration{89750ms});
}

TEST(RetryAfter, HttpDateInThePastIsZero) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(rfc_example)), duration{0});
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(rfc_example + 3600)), duration{0});
}

TEST(RetryAfter, UnreadableIsEmpty) {
  for (const char* bad :
       {"", "   ", "soon", "-5", "1.5", "12s", "+3", "99999999999999999999999", "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    EXPECT_EQ(parse_retry_after(bad, at(0)), std::nullopt) << '"' << bad << '"';
  }
}

TEST(RetryAfter, FarFutureDateDoesNotOverflow) {
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", at(0)), std::nullopt);
}

webhook_options opts(std::string url, std::string secret = {}) {
  webhook_options o;
  o.url = std::move(url);
  o.secret = std::move(secret);
  return o;
}

TEST(WebhookValidate, AcceptsHttpAndHttpsUrls) {
  for (const char* good : {"http://example.com", "http://example.com/hook", "https://example.com:8443/a/b?x=1",
                           "http://127.0.0.1:9/", "http://[::1]:8080/hook", "HTTPS://Example.com/"}) {
    const auto r = validate(opts(good));
    EXPECT_TRUE(r.has_value()) << good << ": " << (r ? "" : r.err().detail);
  }
}

TEST(WebhookValidate, RefusesOtherUrls) {
  for (const char* bad : {"", "example.com/hook", "ftp://example.com/", "http://", "http:///path", "http://:80/",
                          "http://host:0/", "http://host:65536/", "http://host:x/", "http://host:/", "http://[::1/",
                          "http://user:pw@host/", "http://ho st/", "http://host/a b"}) {
    const auto r = validate(opts(bad));
    ASSERT_FALSE(r.has_value()) << '"' << bad << '"';
    EXPECT_EQ(r.err().code, errc::validation_failed);
    EXPECT_THAT(r.err().detail, HasSubstr("webhook url"));
  }
}

TEST(WebhookValidate, Secrets) {
  EXPECT_TRUE(validate(opts("https://example.com/", "")).has_value());
  EXPECT_TRUE(validate(opts("https://example.com/", vector_secret)).has_value());
  EXPECT_TRUE(validate(opts("https://example.com/", "whsec_YWI=")).has_value());
  EXPECT_FALSE(validate(opts("https://example.com/", "whsec_")).has_value());
  for (const char* bad : {"plain-secret-value", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_Y"}) {
    const auto r = validate(opts("https://example.com/", bad));
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.err().detail, HasSubstr("whsec_"));
    EXPECT_THAT(r.err().detail, ::testing::Not(HasSubstr(bad)));  // a secret never reaches a message
  }
}

TEST(WebhookValidate, TimeoutMustBePositive) {
  auto o = opts("http://example.com/");
  o.timeout = duration{0};
  EXPECT_FALSE(validate(o).has_value());
}

class fixed_clock final : public time_source {
 public:
  timestamp now() const override { return at(1614265330); }
};

// No I/O: these outcomes are reported before any socket is opened.
TEST(WebhookSink, DeliverAfterCancelFailsAtOnce) {
  boost::asio::io_context ioc;  // never run
  fixed_clock clock;
  auto s = make_webhook_sink(ioc.get_executor(), opts("http://127.0.0.1:9/hook"), clock);
  EXPECT_EQ(s->name(), "webhook");
  s->cancel();
  std::optional<attempt_outcome> got;
  s->deliver(digest{}, "{}", [&](attempt_outcome o) { got = std::move(o); });
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->confirmed);
  EXPECT_EQ(got->error, "cancelled");
}

TEST(WebhookSink, InvalidOptionsFailEveryAttempt) {
  boost::asio::io_context ioc;
  fixed_clock clock;
  auto s = make_webhook_sink(ioc.get_executor(), opts("ftp://example.com/"), clock);
  std::optional<attempt_outcome> got;
  s->deliver(digest{}, "{}", [&](attempt_outcome o) { got = std::move(o); });
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->confirmed);
  EXPECT_THAT(got->error, HasSubstr("invalid webhook configuration"));
}

}  // namespace
}  // namespace rollup::delivery
