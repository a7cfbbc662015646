#pragma once
// The HTTP/1.1 server of SPEC §4: a listener accepting connections and one
// session per connection, each on its own strand of the io_context (which
// may be run by several threads).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>

#include "rollupd/http/server_options.hpp"

namespace rollup {
class aggregator;
class time_source;
}  // namespace rollup

namespace rollup::http {

struct server_state;
class listener;

class server {
 public:
  // `agg` and `clock` must outlive the server and every handler still
  // running on the io_context.
  server(boost::asio::io_context& ioc, aggregator& agg, const time_source& clock, server_options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds (SO_REUSEADDR), listens and starts accepting. Returns the bound
  // endpoint (with the real port when options.port is 0). Throws
  // std::runtime_error naming the address and the reason if it cannot bind.
  boost::asio::ip::tcp::endpoint start();

  // Stops accepting; /readyz answers 503; requests arriving from now on get
  // a 503 problem with Retry-After and Connection: close; responses still
  // owed are written, the last one with Connection: close. Thread-safe.
  void begin_drain();

  // Requests in flight: read but not yet answered (their response not yet
  // written), or with their header read and their body still arriving.
  // Thread-safe.
  std::size_t in_flight() const;

  // Open connections. Thread-safe.
  std::size_t connections() const;

  // Stops accepting and closes every connection now. Thread-safe.
  void stop();

 private:
  boost::asio::io_context& ioc_;
  std::shared_ptr<server_state> state_;
  std::shared_ptr<listener> listener_;
};

}  // namespace rollup::http
