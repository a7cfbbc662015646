#pragma once
// Accepts connections and gives each a session on its own strand. At the
// connection cap it still accepts, answers 503 with Retry-After and closes,
// so a client learns why instead of waiting in the backlog.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

namespace rollup::http {

struct server_state;

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(boost::asio::io_context& ioc, std::shared_ptr<server_state> state);

  // Opens, binds (SO_REUSEADDR) and listens. Throws std::runtime_error
  // naming the address and the reason. Call once, before run().
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& at);
  // Starts accepting.
  void run();
  // Stops accepting. Thread-safe.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void on_retry(boost::beast::error_code ec);

  boost::asio::io_context& ioc_;
  std::shared_ptr<server_state> state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  bool stopped_ = false;
};

}  // namespace rollup::http
