#pragma once
// A small blocking HTTP/1.1 client for the integration tests: each call runs
// its own io_context until the operation finished or its deadline passed,
// so a misbehaving server fails a test instead of hanging it.

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rollup::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using http_response = bhttp::response<bhttp::string_body>;
using header_list = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::seconds client_deadline{10};

class test_client {
 public:
  // `receive_buffer` (bytes; 0: the system's, which grows to megabytes):
  // a small one makes a large answer wait in the server's write.
  explicit test_client(const net::ip::tcp::endpoint& at, int receive_buffer = 0) : stream_(ioc_) {
    if (receive_buffer > 0) {  // before connecting, so the window is small from the start
      stream_.socket().open(at.protocol());
      stream_.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer));
    }
    stream_.expires_after(client_deadline);
    stream_.async_connect(at, [this](beast::error_code ec) { connect_error_ = ec; });
    run();
  }

  const beast::error_code& connect_error() const { return connect_error_; }

  beast::error_code write_raw(std::string_view bytes) {
    beast::error_code result;
    stream_.expires_after(client_deadline);
    net::async_write(stream_, net::buffer(bytes.data(), bytes.size()),
                     [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return result;
  }

  // Reads at least one byte of the next response and keeps it for read():
  // the server has then begun to write it.
  beast::error_code read_first_bytes() {
    beast::error_code result;
    stream_.expires_after(client_deadline);
    stream_.async_read_some(buffer_.prepare(1024), [&](beast::error_code ec, std::size_t n) {
      result = ec;
      buffer_.commit(n);
    });
    run();
    return result;
  }

  // Reads one response (a 1xx included); `to_head`: the answer to a HEAD
  // request, which has no body whatever its Content-Length says.
  std::pair<beast::error_code, http_response> read(bool to_head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(to_head);
    beast::error_code result;
    stream_.expires_after(client_deadline);
    bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return {result, parser.release()};
  }

  // True when the server closed the connection (reading gives EOF or reset).
  bool closed_by_server() {
    std::array<char, 64> scratch{};
    if (buffer_.size() > 0) return false;
    beast::error_code result;
    stream_.expires_after(client_deadline);
    stream_.async_read_some(net::buffer(scratch), [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return result == net::error::eof || result == net::error::connection_reset;
  }

  http_response send(bhttp::verb method, std::string_view target, std::string body = {}, header_list headers = {}) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == bhttp::verb::post) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    beast::error_code result;
    stream_.expires_after(client_deadline);
    bhttp::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) return error_response(result);
    auto [ec, res] = read();
    if (ec) return error_response(ec);
    return res;
  }

  http_response get(std::string_view target, header_list headers = {}) {
    return send(bhttp::verb::get, target, {}, headers);
  }
  // POST with "Content-Type: application/json" unless `headers` sets one.
  http_response post_json(std::string_view target, std::string body, header_list headers = {}) {
    bool has_type = false;
    for (const auto& h : headers) has_type = has_type || beast::iequals(h.first, "Content-Type");
    if (!has_type) headers.emplace_back("Content-Type", "application/json");
    return send(bhttp::verb::post, target, std::move(body), std::move(headers));
  }

 private:
  // status 0 with the error in the body: the test's asserts then show it.
  static http_response error_response(const beast::error_code& ec) {
    http_response res;
    res.result(0);
    res.body() = "client error: " + ec.message();
    return res;
  }

  void run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

inline nlohmann::json body_json(const http_response& res) { return nlohmann::json::parse(res.body(), nullptr, false); }

}  // namespace rollup::test
