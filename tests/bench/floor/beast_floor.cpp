// rollupd_beast_floor: a plain HTTP server on Boost.Beast and Asio, the
// libraries rollupd is built on, that answers 202 and nothing else. tests/bench/run loads it exactly as
// scenario 1 and the nginx baseline (same wrk script, bodies and settings), so
// a run shows, beside nginx's floor of the machine, the floor of rollupd's
// HTTP libraries: what any rollupd request costs before it is decoded, stored
// or answered with anything but an empty 202.
//
// It is set up as rollupd's listener is (one io_context run by one thread per
// core, a strand per connection, beast::tcp_stream, TCP_NODELAY) and does
// less than rollupd's sessions: one http::async_read of a string body where
// rollupd reads the header and the body with separate parsers, and no read
// timeouts, routing, metrics, Date header or JSON. One Beast set-up among
// others, kept as plain as Beast's own examples.
//
//   rollupd_beast_floor PORT [THREADS]     (THREADS: default one per core)
//
// Prints "listening on 127.0.0.1:PORT" once it accepts; runs until killed.

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class connection : public std::enable_shared_from_this<connection> {
 public:
  explicit connection(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&connection::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return;  // the client closed, or sent something unreadable
    res_ = {http::status::accepted, req_.version()};
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(stream_, res_, beast::bind_front_handler(&connection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (!ec && res_.keep_alive()) read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::empty_body> res_;
};

void accept(tcp::acceptor& acceptor, net::io_context& ioc) {
  acceptor.async_accept(net::make_strand(ioc), [&acceptor, &ioc](beast::error_code ec, tcp::socket socket) {
    if (ec) {  // out of descriptors or the like: stop accepting, the run's figures will show it
      std::fprintf(stderr, "rollupd_beast_floor: accept failed: %s\n", ec.message().c_str());
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<connection>(std::move(socket))->read();
    accept(acceptor, ioc);
  });
}

bool parse_number(std::string_view s, unsigned& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  if (argc < 2 || argc > 3 || !parse_number(argv[1], port) || port == 0 || port > 65535 ||
      (argc == 3 && (!parse_number(argv[2], threads) || threads == 0))) {
    std::fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
    return 2;
  }
  try {
    net::io_context ioc(static_cast<int>(threads));
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    accept(acceptor, ioc);
    std::printf("listening on 127.0.0.1:%u\n", port);
    std::fflush(stdout);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rollupd_beast_floor: %s\n", e.what());
    return 1;
  }
}
