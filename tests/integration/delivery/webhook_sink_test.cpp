// The webhook sink against real receivers on loopback ports (plain HTTP and
// TLS), each a small Beast server on its own thread.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rollupd/delivery/webhook_sink.hpp"

namespace rollup::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

// A CA, a certificate it signed for localhost and 127.0.0.1, and one for
// wrong.example; valid 2000-2999 (generated once for these tests).
constexpr std::string_view test_ca_pem = R"pem(-----BEGIN CERTIFICATE-----
MIIBejCCASCgAwIBAgIUBzeGbCMbOcwO+EgVYy84qmTIf44wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcm9sbHVwZCB0ZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzI5
OTkxMjMxMDAwMDAwWjAaMRgwFgYDVQQDDA9yb2xsdXBkIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASRTXP0SKLNyMst8v0MYFbVYm4jbS+N7mZwBTV2
kGDz630H+M0Uf5TYH7PplIrbszzKiJEppv4JsIuRMXRLlfxco0IwQDAPBgNVHRMB
Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUC3FqKGkyvlLWeBSj
8LzsdG+qXPkwCgYIKoZIzj0EAwIDSAAwRQIgIhgAbL2mWeT47xuwnK0h5qGzs6g8
rKh32LcX27V/NVACIQCidDs9TSG5HD/HKImYwMI1eA15ZTjspcjaXH4umIOYfg==
-----END CERTIFICATE-----
)pem";
constexpr std::string_view localhost_cert_pem = R"pem(-----BEGIN CERTIFICATE-----
MIIBkzCCATqgAwIBAgIUBAgJULj9PdY0lwUgExgloeSSu4AwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcm9sbHVwZCB0ZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzI5
OTkxMjMxMDAwMDAwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARbJ6LCi5X5WuglR6Dzs3kB/2hTlDAdFFvELxkBpKcULMfA
j5wWPe7fPo06FJets6YO/CmCiCH7T7e5f7YDlAOio2IwYDAMBgNVHRMBAf8EAjAA
MBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATATBgNVHSUEDDAKBggrBgEFBQcD
ATAfBgNVHSMEGDAWgBQLcWooaTK+UtZ4FKPwvOx0b6pc+TAKBggqhkjOPQQDAgNH
ADBEAiAlsViBmPzqsWWCo4cNb3O+mVVMbb7QfmfWgyDwswZrUwIgYC8kZ3w2FXlG
l/OrfafcBgliKc3jxeTXbuzmyFGbSsI=
-----END CERTIFICATE-----
)pem";
constexpr std::string_view localhost_key_pem = R"pem(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCARicXzqvj/OPWJi
WUZBnQxlqwmktqrd6t9Jv+sYAzyhRANCAARbJ6LCi5X5WuglR6Dzs3kB/2hTlDAd
FFvELxkBpKcULMfAj5wWPe7fPo06FJets6YO/CmCiCH7T7e5f7YDlAOi
-----END PRIVATE KEY-----
)pem";
constexpr std::string_view wrong_name_cert_pem = R"pem(-----BEGIN CERTIFICATE-----
MIIBlzCCATygAwIBAgIUX2pbYDJ5J/vj8AS/QqmakdmR+sIwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcm9sbHVwZCB0ZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzI5
OTkxMjMxMDAwMDAwWjAYMRYwFAYDVQQDDA13cm9uZy5leGFtcGxlMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAE//peUrvBnot4JTiRmBSw+K4FoJyiPHIhM35i0taf
zuFxBKi/0M5P+C2r18sdyAQ51gT/qzc5C/x/jENM6DgpT6NgMF4wDAYDVR0TAQH/
BAIwADAYBgNVHREEETAPgg13cm9uZy5leGFtcGxlMBMGA1UdJQQMMAoGCCsGAQUF
BwMBMB8GA1UdIwQYMBaAFAtxaihpMr5S1ngUo/C87HRvqlz5MAoGCCqGSM49BAMC
A0kAMEYCIQCwdrfgR5NP+rS9LM6vpmaQmcTtqbeasCgfshLi7eGwYwIhAK8oxjvi
FdfzdiFYZ407/zyYomQumH8AO1dNNYxY7KXp
-----END CERTIFICATE-----
)pem";
constexpr std::string_view wrong_name_key_pem = R"pem(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg34aGPvtplc4a/Pkr
DXJslWr8urcaOZ1Pd3Hk5Cx4eCqhRANCAAT/+l5Su8Gei3glOJGYFLD4rgWgnKI8
ciEzfmLS1p/O4XEEqL/Qzk/4LavXyx3IBDnWBP+rNzkL/H+MQ0zoOClP
-----END PRIVATE KEY-----
)pem";

constexpr std::int64_t clock_seconds = 1614265330;

class fixed_clock final : public time_source {
 public:
  timestamp now() const override { return timestamp{std::chrono::seconds{clock_seconds}}; }
};

// What the receiver does after reading a request.
enum class behaviour {
  answer,      // write `response`, then close
  hang,        // say nothing, keep the connection open
  close_only,  // close without a word
  mute,        // accept, then never read nor write
};

struct seen_request {
  bhttp::request<bhttp::string_body> message;
  std::string server_name;  // TLS SNI; empty for plain HTTP or none sent
};

// An HTTP(S) receiver on 127.0.0.1, port 0. Records every request it reads.
class receiver {
 public:
  struct tls_identity {
    std::string_view cert;
    std::string_view key;
  };

  explicit receiver(std::string response, behaviour how = behaviour::answer,
                    std::optional<tls_identity> tls = std::nullopt)
      : response_(std::move(response)), how_(how), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    if (tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(tls->cert.data(), tls->cert.size()));
      tls_->use_private_key(asio::buffer(tls->key.data(), tls->key.size()), ssl::context::pem);
    }
    asio::co_spawn(ioc_, accept_loop(), [](const std::exception_ptr&) {});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~receiver() {
    ioc_.stop();
    thread_.join();
  }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port()) + path;
  }

  // The first request, once it has been read in full.
  std::optional<seen_request> wait_for_request(std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    if (!seen_cv_.wait_for(lock, limit, [&] { return !requests_.empty(); })) return std::nullopt;
    return requests_.front();
  }
  int connections() const {
    const std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      {
        const std::lock_guard lock(mutex_);
        ++connections_;
      }
      if (how_ == behaviour::mute) {
        muted_.push_back(std::move(socket));
        continue;
      }
      asio::co_spawn(ioc_, serve(std::move(socket)), [](const std::exception_ptr&) {});
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    if (!tls_) {
      co_await exchange(socket, {});
      co_return;
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
    co_await stream.async_handshake(ssl::stream_base::server, asio::use_awaitable);
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    co_await exchange(stream, sni ? sni : "");
  }

  template <class Stream>
  asio::awaitable<void> exchange(Stream& stream, std::string server_name) {
    beast::flat_buffer buffer;
    seen_request seen{{}, std::move(server_name)};
    co_await bhttp::async_read(stream, buffer, seen.message, asio::use_awaitable);
    {
      const std::lock_guard lock(mutex_);
      requests_.push_back(std::move(seen));
    }
    seen_cv_.notify_all();
    if (how_ == behaviour::answer) {
      co_await asio::async_write(stream, asio::buffer(response_), asio::use_awaitable);
    } else if (how_ == behaviour::hang) {
      asio::steady_timer forever(ioc_, 1h);  // ends when the receiver stops
      co_await forever.async_wait(asio::use_awaitable);
    }
    beast::get_lowest_layer(stream).close();
  }

  std::string response_;
  behaviour how_;
  asio::io_context ioc_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable seen_cv_;
  std::vector<seen_request> requests_;
  int connections_ = 0;
  std::vector<tcp::socket> muted_;  // only touched on the receiver's thread
};

std::string http_response(const std::string& status_line, const std::string& headers = {},
                          const std::string& body = {}) {
  return "HTTP/1.1 " + status_line + "\r\n" + headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

digest test_digest(std::string id = "dg_01HZX3") {
  digest d;
  d.id = std::move(id);
  d.email = "user@example.com";
  return d;
}

constexpr const char* test_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* test_body = R"({"id":"dg_01HZX3","email":"user@example.com","notifications":[{"n":1}]})";

// Runs sinks on an io_context with its own thread, as the daemon does.
class WebhookSinkTest : public ::testing::Test {
 protected:
  WebhookSinkTest() : work_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}
  ~WebhookSinkTest() override {
    work_.reset();
    thread_.join();  // returns once every attempt's I/O has finished
  }

  std::unique_ptr<sink> make(std::string url, std::string secret = test_secret, duration timeout = 5s) {
    webhook_options o;
    o.url = std::move(url);
    o.secret = std::move(secret);
    o.timeout = timeout;
    EXPECT_TRUE(validate(o).has_value());
    return make_webhook_sink(ioc_.get_executor(), std::move(o), clock_);
  }

  // Starts one attempt; the future holds its outcome. A second call of
  // `done` would throw from set_value and end the test run.
  static std::future<attempt_outcome> start(sink& s, const digest& d = test_digest(),
                                            const std::string& body = test_body) {
    auto promise = std::make_shared<std::promise<attempt_outcome>>();
    auto future = promise->get_future();
    s.deliver(d, body, [promise](attempt_outcome o) { promise->set_value(std::move(o)); });
    return future;
  }

  static attempt_outcome outcome_of(std::future<attempt_outcome>& f, std::chrono::milliseconds limit = 10s) {
    if (f.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "no outcome within " << limit.count() << "ms";
      return attempt_outcome{false, "no outcome", std::nullopt};
    }
    return f.get();
  }

  static attempt_outcome deliver(sink& s, const digest& d = test_digest(), const std::string& body = test_body) {
    auto f = start(s, d, body);
    return outcome_of(f);
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  fixed_clock clock_;
  std::thread thread_;
};

TEST_F(WebhookSinkTest, TwoHundredConfirmsAndTheReceiverCanVerify) {
  receiver rx(http_response("200 OK", {}, "thanks"));
  auto s = make(rx.url("/hooks/rollupd?token=abc"));
  const auto outcome = deliver(*s);
  EXPECT_TRUE(outcome.confirmed) << outcome.error;
  EXPECT_EQ(outcome.error, "");
  EXPECT_FALSE(outcome.retry_after.has_value());

  const auto seen = rx.wait_for_request();
  ASSERT_TRUE(seen.has_value());
  const auto& req = seen->message;
  EXPECT_EQ(req.method(), bhttp::verb::post);
  EXPECT_EQ(req.target(), "/hooks/rollupd?token=abc");
  EXPECT_EQ(req[bhttp::field::host], "127.0.0.1:" + std::to_string(rx.port()));
  EXPECT_EQ(req[bhttp::field::content_type], "application/json");
  EXPECT_THAT(std::string(req[bhttp::field::user_agent]), StartsWith("rollupd"));
  EXPECT_EQ(req.body(), test_body);
  EXPECT_EQ(req["webhook-id"], "dg_01HZX3");
  EXPECT_EQ(req["webhook-timestamp"], std::to_string(clock_seconds));
  // What a Standard Webhooks verifier does: sign id.timestamp.body with the
  // shared secret and compare.
  EXPECT_EQ(req["webhook-signature"], webhook_signature(test_secret, std::string(req["webhook-id"]),
                                                        std::string(req["webhook-timestamp"]), req.body()));
  EXPECT_THAT(std::string(req["webhook-signature"]), StartsWith("v1,"));
}

TEST_F(WebhookSinkTest, AnyTwoHundredStatusConfirmsAndNoSecretMeansNoSignature) {
  receiver rx(http_response("204 No Content"));
  auto s = make(rx.url("/"), "");
  const auto outcome = deliver(*s);
  EXPECT_TRUE(outcome.confirmed) << outcome.error;
  const auto seen = rx.wait_for_request();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->message.count("webhook-signature"), 0U);
  EXPECT_EQ(seen->message["webhook-id"], "dg_01HZX3");
}

TEST_F(WebhookSinkTest, ServerErrorIsAFailureNamingTheStatus) {
  receiver rx(http_response("500 Internal Server Error", {}, "database\r\nis down"));
  auto s = make(rx.url("/hook?token=secret-token"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_EQ(outcome.error, "HTTP 500 Internal Server Error from http://127.0.0.1:" + std::to_string(rx.port()) +
                               "/hook: database  is down");
  EXPECT_THAT(outcome.error, Not(HasSubstr("secret-token")));  // the query may carry a credential
  EXPECT_FALSE(outcome.retry_after.has_value());
}

TEST_F(WebhookSinkTest, TooManyRequestsCarriesRetryAfter) {
  receiver rx(http_response("429 Too Many Requests", "Retry-After: 7\r\n"));
  auto s = make(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("HTTP 429 Too Many Requests from "));
  ASSERT_TRUE(outcome.retry_after.has_value());
  EXPECT_EQ(*outcome.retry_after, duration{7s});
}

TEST_F(WebhookSinkTest, RetryAfterAsAnHttpDateIsMeasuredFromTheClock) {
  // One minute after the fixed clock.
  receiver rx(http_response("503 Service Unavailable", "Retry-After: Thu, 25 Feb 2021 15:03:10 GMT\r\n"));
  auto s = make(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("HTTP 503 Service Unavailable"));
  ASSERT_TRUE(outcome.retry_after.has_value());
  EXPECT_EQ(*outcome.retry_after, duration{60s});
}

TEST_F(WebhookSinkTest, RedirectIsAFailureAndNotFollowed) {
  receiver elsewhere(http_response("200 OK"));
  receiver rx(http_response("302 Found", "Location: " + elsewhere.url("/moved") + "\r\n"));
  auto s = make(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("redirect 302 Found from http://127.0.0.1:"));
  EXPECT_THAT(outcome.error, HasSubstr("not followed"));
  EXPECT_THAT(outcome.error, HasSubstr(elsewhere.url("/moved")));
  EXPECT_EQ(elsewhere.connections(), 0);
}

TEST_F(WebhookSinkTest, LargeErrorBodyIsCutShort) {
  receiver rx(http_response("400 Bad Request", {}, std::string(200 * 1024ULL, 'x')));
  auto s = make(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("HTTP 400 Bad Request from "));
  EXPECT_LT(outcome.error.size(), 400U);
}

TEST_F(WebhookSinkTest, SilentReceiverTimesOut) {
  receiver rx("", behaviour::hang);
  auto s = make(rx.url("/hook"), test_secret, 300ms);
  const auto began = std::chrono::steady_clock::now();
  const auto outcome = deliver(*s);
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("timed out after 300ms"));
  EXPECT_THAT(outcome.error, HasSubstr("waiting for an answer from http://127.0.0.1:"));
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(rx.wait_for_request().has_value());  // it did send, the receiver said nothing
}

TEST_F(WebhookSinkTest, ReceiverThatClosesWithoutAnAnswerIsAFailure) {
  receiver rx("", behaviour::close_only);
  auto s = make(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, HasSubstr("closed the connection without answering"));
}

TEST_F(WebhookSinkTest, ConnectionRefusedIsAFailure) {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto s = make("http://127.0.0.1:" + std::to_string(port) + "/hook");
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_EQ(outcome.error, "connection refused to 127.0.0.1:" + std::to_string(port));
}

TEST_F(WebhookSinkTest, CancelEndsAHangingAttemptPromptly) {
  receiver rx("", behaviour::hang);
  auto s = make(rx.url("/hook"), test_secret, 30s);
  auto first = start(*s);
  auto second = start(*s);
  ASSERT_TRUE(rx.wait_for_request().has_value());  // in flight, waiting for the answer
  const auto began = std::chrono::steady_clock::now();
  s->cancel();
  const auto a = outcome_of(first, 2s);
  const auto b = outcome_of(second, 2s);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
  EXPECT_FALSE(a.confirmed);
  EXPECT_EQ(a.error, "cancelled");
  EXPECT_FALSE(b.confirmed);
  EXPECT_EQ(b.error, "cancelled");

  // Later attempts fail at once.
  std::optional<attempt_outcome> later;
  s->deliver(test_digest(), test_body, [&](attempt_outcome o) { later = std::move(o); });
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->error, "cancelled");
}

TEST_F(WebhookSinkTest, ManyConcurrentAttemptsEachReportOnce) {
  receiver rx(http_response("200 OK"));
  auto s = make(rx.url("/hook"));
  std::vector<std::future<attempt_outcome>> futures;
  futures.reserve(20);
  for (int i = 0; i < 20; ++i) futures.push_back(start(*s, test_digest("dg_" + std::to_string(i))));
  for (auto& f : futures) {
    const auto outcome = outcome_of(f);
    EXPECT_TRUE(outcome.confirmed) << outcome.error;
  }
}

// TLS: the sink trusts the system's default verify paths; OpenSSL reads
// SSL_CERT_FILE for them, so pointing it at the test CA makes the CA trusted
// for sinks created while it is set.
class WebhookSinkTlsTest : public WebhookSinkTest {
 protected:
  WebhookSinkTlsTest() {
    ca_file_ = std::filesystem::temp_directory_path() / ("rollupd-webhook-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file_) << test_ca_pem;
    if (const char* old = std::getenv("SSL_CERT_FILE")) old_cert_file_ = old;
  }
  ~WebhookSinkTlsTest() override {
    restore_env();
    std::error_code ec;
    std::filesystem::remove(ca_file_, ec);
  }

  std::unique_ptr<sink> make_trusting_test_ca(std::string url) {
    ::setenv("SSL_CERT_FILE", ca_file_.c_str(), 1);
    auto s = make(std::move(url));
    restore_env();
    return s;
  }
  std::unique_ptr<sink> make_with_system_trust(std::string url) {
    ::setenv("SSL_CERT_FILE", "/nonexistent/rollupd-test-ca.pem", 1);  // not even the system bundle
    auto s = make(std::move(url));
    restore_env();
    return s;
  }

 private:
  void restore_env() {
    if (old_cert_file_)
      ::setenv("SSL_CERT_FILE", old_cert_file_->c_str(), 1);
    else
      ::unsetenv("SSL_CERT_FILE");
  }
  std::filesystem::path ca_file_;
  std::optional<std::string> old_cert_file_;
};

TEST_F(WebhookSinkTlsTest, HttpsToAnIpAddressConfirms) {
  receiver rx(http_response("200 OK"), behaviour::answer,
              receiver::tls_identity{localhost_cert_pem, localhost_key_pem});
  auto s = make_trusting_test_ca(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_TRUE(outcome.confirmed) << outcome.error;
  const auto seen = rx.wait_for_request();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->message.body(), test_body);
  EXPECT_EQ(seen->server_name, "");  // no SNI for an address
}

TEST_F(WebhookSinkTlsTest, HttpsToANameSendsSniAndConfirms) {
  receiver rx(http_response("200 OK"), behaviour::answer,
              receiver::tls_identity{localhost_cert_pem, localhost_key_pem});
  auto s = make_trusting_test_ca(rx.url("/hook", "localhost"));
  const auto outcome = deliver(*s);
  EXPECT_TRUE(outcome.confirmed) << outcome.error;
  const auto seen = rx.wait_for_request();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->server_name, "localhost");
  EXPECT_EQ(seen->message[bhttp::field::host], "localhost:" + std::to_string(rx.port()));
}

TEST_F(WebhookSinkTlsTest, CertificateForAnotherNameIsRefused) {
  receiver rx(http_response("200 OK"), behaviour::answer,
              receiver::tls_identity{wrong_name_cert_pem, wrong_name_key_pem});
  auto s = make_trusting_test_ca(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(outcome.error, HasSubstr("mismatch"));
  EXPECT_FALSE(rx.wait_for_request(200ms).has_value());  // the digest never left
}

TEST_F(WebhookSinkTlsTest, UntrustedCertificateIsRefused) {
  receiver rx(http_response("200 OK"), behaviour::answer,
              receiver::tls_identity{localhost_cert_pem, localhost_key_pem});
  auto s = make_with_system_trust(rx.url("/hook"));
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(outcome.error, HasSubstr("certificate verify failed"));
  EXPECT_FALSE(rx.wait_for_request(200ms).has_value());
}

TEST_F(WebhookSinkTlsTest, HandshakeCountsAgainstTheTimeout) {
  // A TCP receiver that never speaks TLS (nor anything else).
  receiver rx("", behaviour::mute);
  webhook_options o;
  o.url = "https://127.0.0.1:" + std::to_string(rx.port()) + "/hook";
  o.timeout = 300ms;
  auto s = make_webhook_sink(ioc_.get_executor(), o, clock_);
  const auto outcome = deliver(*s);
  EXPECT_FALSE(outcome.confirmed);
  EXPECT_THAT(outcome.error, StartsWith("timed out after 300ms in the TLS handshake with 127.0.0.1:"));
}

}  // namespace
}  // namespace rollup::delivery
