#include "listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <stdexcept>

#include "server_state.hpp"
#include "session.hpp"

namespace rollup::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

std::string to_text(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace

listener::listener(net::io_context& ioc, std::shared_ptr<server_state> state)
    : ioc_(ioc), state_(std::move(state)), acceptor_(net::make_strand(ioc)), retry_timer_(acceptor_.get_executor()) {}

tcp::endpoint listener::listen(const tcp::endpoint& at) {
  beast::error_code ec;
  const auto fail = [&](const char* step) {
    throw std::runtime_error("cannot listen on " + to_text(at) + ": " + step + ": " + ec.message());
  };
  acceptor_.open(at.protocol(), ec);
  if (ec) fail("open");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("set SO_REUSEADDR");
  acceptor_.bind(at, ec);
  if (ec) fail("bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) fail("local_endpoint");
  return bound;
}

void listener::run() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (self->stopped_) return;
    self->stopped_ = true;
    self->retry_timer_.cancel();
    beast::error_code ec;
    self->acceptor_.close(ec);
    spdlog::info("http: stopped accepting connections");
  });
}

void listener::do_accept() {
  if (stopped_) return;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped_ || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: wait a little instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait(beast::bind_front_handler(&listener::on_retry, shared_from_this()));
    return;
  }
  auto s = std::make_shared<session>(std::move(socket), state_);
  const auto cap = state_->options.max_connections;
  if (state_->connections() >= cap) {
    spdlog::warn("http: connection refused: {} connections open (max_connections)", cap);
    s->reject({errc::overloaded,
               "the server has " + std::to_string(cap) + " connections open, its limit; retry shortly",
               {}});
  } else {
    s->run();
  }
  do_accept();
}

void listener::on_retry(beast::error_code ec) {
  if (ec) return;
  do_accept();
}

}  // namespace rollup::http
