#include "rollupd/app/healthcheck.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <charconv>
#include <exception>
#include <utility>

#include "rollupd/app/command_line.hpp"

namespace rollup::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool parse_port(std::string_view s, std::uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n > 65535) return false;
  port = static_cast<std::uint16_t>(n);
  return true;
}

std::string authority(const http_url& u) {
  const bool v6 = u.host.find(':') != std::string::npos;
  return (v6 ? "[" + u.host + "]" : u.host) + ":" + std::to_string(u.port);
}

// A short, one-line excerpt of a response body for the message.
std::string excerpt(std::string body) {
  for (char& c : body)
    if (c == '\n' || c == '\r') c = ' ';
  if (body.size() > 200) body = body.substr(0, 200) + "...";
  return body;
}

healthcheck_result timeout_result(const std::string& url, duration timeout) {
  return {false, "no answer from " + url + " within " + format_duration(timeout)};
}

// One GET, driven by callbacks on a private io_context. Handlers capture
// `this`: the checker outlives the io_context's run, and handlers that never
// ran are destroyed (not called) with the io_context.
class checker {
 public:
  checker(asio::io_context& ioc, http_url url, std::string text, duration timeout)
      : resolver_(ioc), stream_(ioc), url_(std::move(url)), text_(std::move(text)), timeout_(timeout) {}

  void start() {
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [this](const beast::error_code& ec, const tcp::resolver::results_type& results) {
                              on_resolve(ec, results);
                            });
  }

  const std::optional<healthcheck_result>& result() const { return result_; }

 private:
  void on_resolve(const beast::error_code& ec, const tcp::resolver::results_type& results) {
    if (ec) return done(false, "cannot resolve " + url_.host + ": " + ec.message());
    // One deadline for connecting, writing and reading together.
    stream_.expires_after(timeout_);
    stream_.async_connect(results, [this](const beast::error_code& e, const tcp::endpoint&) { on_connect(e); });
  }

  void on_connect(const beast::error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec) return done(false, "cannot connect to " + authority(url_) + ": " + ec.message());
    req_ = {bhttp::verb::get, url_.target, 11};
    req_.set(bhttp::field::host, authority(url_));
    req_.set(bhttp::field::user_agent, version_text() + " healthcheck");
    req_.set(bhttp::field::connection, "close");
    bhttp::async_write(stream_, req_, [this](const beast::error_code& e, std::size_t) { on_write(e); });
  }

  void on_write(const beast::error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec) return done(false, "cannot send the request to " + text_ + ": " + ec.message());
    parser_.body_limit(64 * 1024);
    bhttp::async_read(stream_, buffer_, parser_, [this](const beast::error_code& e, std::size_t) { on_read(e); });
  }

  void on_read(const beast::error_code& ec) {
    if (ec == beast::error::timeout) return timed_out();
    if (ec) return done(false, "no answer from " + text_ + ": " + ec.message());
    const auto& res = parser_.get();
    std::string line = text_ + " answered " + std::to_string(res.result_int()) + " " + std::string(res.reason());
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    const bool ok = res.result() == bhttp::status::ok;
    if (!ok && !res.body().empty()) line += ": " + excerpt(res.body());
    done(ok, std::move(line));
  }

  void timed_out() { result_ = timeout_result(text_, timeout_); }
  void done(bool ok, std::string message) { result_ = healthcheck_result{ok, std::move(message)}; }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  http_url url_;
  std::string text_;
  duration timeout_;
  bhttp::request<bhttp::empty_body> req_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  std::optional<healthcheck_result> result_;
};

}  // namespace

std::optional<http_url> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
  auto rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  const auto auth = rest.substr(0, slash);
  http_url out;
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  if (auth.empty()) return std::nullopt;
  std::string_view host;
  std::string_view port;
  if (auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = auth.substr(1, close - 1);
    const auto after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = auth.find(':');
    host = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = auth.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (host.empty() || host.find_first_of(" \t@") != std::string_view::npos) return std::nullopt;
  if (!port.empty() && !parse_port(port, out.port)) return std::nullopt;
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  out.host = std::string(host);
  return out;
}

std::string default_healthcheck_url(const listen_address& listen) {
  listen_address a = listen;
  if (a.host == "0.0.0.0") a.host = "127.0.0.1";
  if (a.host == "::") a.host = "::1";
  return "http://" + a.to_string() + "/readyz";
}

healthcheck_result run_healthcheck(const std::string& url, duration timeout) {
  const auto parsed = parse_http_url(url);
  if (!parsed) return {false, "not an http:// URL: \"" + url + "\" (e.g. http://127.0.0.1:8080/readyz)"};
  try {
    asio::io_context ioc;
    checker c(ioc, *parsed, url, timeout);
    c.start();
    // The stream's deadline bounds connect/write/read; this bounds name
    // resolution too.
    ioc.run_for(timeout + std::chrono::milliseconds(500));
    if (!c.result()) return timeout_result(url, timeout);
    return *c.result();
  } catch (const std::exception& e) {
    return {false, std::string("healthcheck failed: ") + e.what()};
  }
}

}  // namespace rollup::app
