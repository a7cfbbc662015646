#include "rollupd/http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

#include "listener.hpp"
#include "server_state.hpp"
#include "session.hpp"

namespace rollup::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A literal address, or a host name resolved once at start-up.
tcp::endpoint endpoint_of(net::io_context& ioc, const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (!ec) return {addr, port};
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) +
                             ": cannot resolve the host: " + (ec ? ec.message() : std::string("no address")));
  return results.begin()->endpoint();
}

}  // namespace

server::server(net::io_context& ioc, aggregator& agg, const time_source& clock, server_options opts)
    : ioc_(ioc), state_(std::make_shared<server_state>(agg, clock, std::move(opts))) {}

server::~server() { stop(); }

tcp::endpoint server::start() {
  if (listener_) throw std::runtime_error("http server already started");
  const auto at = endpoint_of(ioc_, state_->options.host, state_->options.port);
  auto l = std::make_shared<listener>(ioc_, state_);
  const auto bound = l->listen(at);
  listener_ = std::move(l);
  listener_->run();
  spdlog::info("http: listening on {}:{}{}", bound.address().to_string(), bound.port(),
               state_->options.api_token.empty() ? " (no api_token: the API is open)" : "");
  return bound;
}

void server::begin_drain() {
  if (state_->draining.exchange(true)) return;
  spdlog::info("http: draining: {} request(s) in flight", in_flight());
  if (listener_) listener_->stop();
}

// Requests read and not yet answered, and those whose body is still arriving.
std::size_t server::in_flight() const { return state_->in_flight.load() + state_->arriving.load(); }

std::size_t server::connections() const { return state_->connections(); }

void server::stop() {
  if (state_->stopped.exchange(true)) return;
  state_->draining = true;
  if (listener_) listener_->stop();
  for (const auto& s : state_->live_sessions()) s->close();
}

}  // namespace rollup::http
