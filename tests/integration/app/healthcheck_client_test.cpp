// Real sockets on loopback: labelled integration (see CMakeLists.txt).
#include "rollupd/app/healthcheck.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>

namespace rollup::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A one-shot HTTP server on a loopback port answering with `response`.
class one_shot_server {
 public:
  explicit one_shot_server(std::string response) : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, r = std::move(response)] {
      boost::system::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec) return;
      asio::streambuf buf;
      asio::read_until(s, buf, "\r\n\r\n", ec);
      std::istream is(&buf);
      std::getline(is, request_line_);
      if (!r.empty()) asio::write(s, asio::buffer(r), ec);
      else std::this_thread::sleep_for(1500ms);  // say nothing
    });
  }
  ~one_shot_server() { thread_.join(); }
  one_shot_server(const one_shot_server&) = delete;
  one_shot_server& operator=(const one_shot_server&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  const std::string& request_line() const { return request_line_; }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::string request_line_;
};

TEST(HealthcheckClient, OkOn200) {
  one_shot_server srv("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  const auto r = run_healthcheck(srv.url("/readyz"));
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THAT(r.message, HasSubstr("answered 200"));
}

TEST(HealthcheckClient, FailsOn503WithTheBody) {
  one_shot_server srv("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\nConnection: close\r\n\r\ndraining");
  const auto r = run_healthcheck(srv.url("/readyz"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("answered 503 Service Unavailable: draining"));
}

TEST(HealthcheckClient, FailsOnAClosedPort) {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const auto r = run_healthcheck("http://127.0.0.1:" + std::to_string(port) + "/readyz");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("cannot connect"));
}

TEST(HealthcheckClient, TimesOut) {
  one_shot_server srv("");
  const auto r = run_healthcheck(srv.url("/readyz"), 300ms);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("within 300ms"));
}

TEST(HealthcheckClient, BadUrl) {
  const auto r = run_healthcheck("https://x/");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("not an http:// URL"));
}

}  // namespace
}  // namespace rollup::app
