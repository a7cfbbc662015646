#pragma once
// One HTTP/1.1 connection: reads requests (header first, so limits apply
// before the body is read), hands each to the router, and writes the answers
// strictly in request order while it goes on reading pipelined requests.
// Everything runs on the connection's strand.
//
// Pipelined requests are handled in parallel only while they are all safe
// (GET, HEAD, OPTIONS, TRACE; RFC 9112 §9.3.2): an unsafe one starts after
// every earlier one was answered, and later ones start after it was
// answered, so a GET pipelined behind a POST sees the POST's effect.

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "rollupd/core/error.hpp"
#include "rollupd/http/response.hpp"

namespace rollup::http {

struct server_state;

inline constexpr std::size_t max_header_bytes = 16 * 1024;  // larger: 431
inline constexpr std::size_t max_pending_requests = 16;     // reading pauses while this many await answers
inline constexpr std::chrono::seconds linger_time{2};       // reading what the peer still sends before closing

class session : public std::enable_shared_from_this<session> {
 public:
  session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<server_state> state);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Counts the connection and starts reading requests.
  void run();
  // Answers one problem and closes without reading a request (connection cap).
  void reject(error why);
  // Closes the connection now. Thread-safe.
  void close();

 private:
  struct slot {
    std::optional<request> req;   // read, not yet handed to the router
    std::optional<response> res;  // empty until the handler answered
    bool unsafe = false;          // not GET/HEAD/OPTIONS/TRACE
    bool admitted = false;        // its header came before the drain began: served, not refused
    unsigned version = 11;
    bool keep_alive = false;
    std::string method;  // for the log
    std::string path;    // for the log (no query: it may hold an email)
    std::chrono::steady_clock::time_point started;
    // For the metrics: the method (unknown: "other") and the route pattern.
    boost::beast::http::verb verb = boost::beast::http::verb::unknown;
    std::string_view route = "unmatched";
  };
  // What the metrics know of a request answered before it was read whole.
  struct partial_request {
    boost::beast::http::verb verb = boost::beast::http::verb::unknown;
    std::string method = "-";
    std::string path = "-";
    std::string_view route = "unmatched";
  };

  void do_read();
  void on_read_header(boost::beast::error_code ec, std::size_t bytes);
  void on_continue_sent(boost::beast::error_code ec, std::size_t bytes);
  void do_read_body();
  bool parse_buffered_body();
  void on_read_body(boost::beast::error_code ec, std::size_t bytes);
  void on_read_error(boost::beast::error_code ec, unsigned version);
  void start_arriving();  // the body of the request being read must be waited for
  void arrived();         // the request being read is read whole, or failed
  void on_request(request req);
  void dispatch_ready();
  slot& push_slot(unsigned version, bool keep_alive, boost::beast::http::verb verb, std::string method,
                  std::string path);
  partial_request read_so_far() const;
  void answer_locally(const error& e, unsigned version, partial_request what);
  void count(const slot& s) const;
  void on_response(std::uint64_t seq, response res);
  void do_write();
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  // Deadlines (read_timeout, linger_time): one per direction, each set when
  // an operation starts and cleared when it ends; one timer watches the
  // earlier. Moving a deadline only stores a time: the timer, when it fires
  // before the current deadline, waits again for the rest, so a request
  // costs no timer operations (arming and cancelling one per read and per
  // write was 8 % of a request's CPU, tests/bench/RESULTS.md, session 16).
  void set_read_deadline(std::chrono::steady_clock::time_point at);
  void set_write_deadline(std::chrono::steady_clock::time_point at);
  void watch_deadlines();
  void on_deadline_timer(boost::beast::error_code ec);
  void maybe_close();
  void do_close();
  void do_linger();
  void on_linger(boost::beast::error_code ec, std::size_t bytes);
  void close_now();
  void fail(boost::beast::error_code ec, const char* what) const;

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string wire_;  // the answer being written, as bytes
  std::shared_ptr<server_state> state_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> header_parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> body_parser_;
  std::deque<slot> queue_;      // answers owed, in request order
  std::uint64_t head_seq_ = 0;  // sequence number of queue_.front()
  static constexpr auto no_deadline = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point read_deadline_ = no_deadline;
  std::chrono::steady_clock::time_point write_deadline_ = no_deadline;
  std::chrono::steady_clock::time_point timer_at_ = no_deadline;  // when the timer's wait ends; none pending
  boost::asio::steady_timer deadline_timer_;
  std::chrono::steady_clock::time_point linger_until_;
  std::array<char, 4096> linger_buf_{};
  bool registered_ = false;  // counted in server_state
  bool reading_ = false;
  bool read_done_ = false;  // no more requests will be read
  bool admitted_ = false;   // the request being read began before the drain
  bool arriving_ = false;   // counted in server_state::arriving
  bool writing_ = false;
  bool closing_ = false;  // send side shut down, lingering
  bool closed_ = false;   // socket closed
};

}  // namespace rollup::http
