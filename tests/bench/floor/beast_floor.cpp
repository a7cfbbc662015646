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
// With --hand-off each request also makes the two hand-offs SPEC §7 asks of
// rollupd (storage work never blocks the threads that serve the network):
// the request joins a line that storage-side workers drain, as rollupd's
// aggregator does (a mutex-guarded line; a worker takes at most 16 requests
// at a time, as one transaction answers at most 16 whole requests; at most
// one worker per core, a second one only once the line holds more than 256
// requests or a worker leaves some behind; a thread pool of 8), and a worker
// posts each answer back to its connection's strand. With --work-us N the worker
// first burns N microseconds of its thread's CPU time per request, standing
// for the storage cycle (tests/bench/run passes the cycle's CPU time measured
// by the micro benchmarks): the server then is this design's skeleton with
// the storage cost in place and nothing else of rollupd.
//
//   rollupd_beast_floor [--hand-off [--work-us N]] PORT [THREADS]
//   (THREADS: default one per core)
//
// Prints "listening on 127.0.0.1:PORT" once it accepts; runs until killed.

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "rollupd/service/thread_name.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class connection;

// The storage side of --hand-off: requests wait in one line, and workers on a
// pool of their own take them in turns and post each answer back.
class hand_off {
 public:
  explicit hand_off(std::chrono::nanoseconds work) : work_(work) {}
  void push(std::shared_ptr<connection> c);

 private:
  void work();

  static constexpr std::size_t pool_threads = 8, take_at_most = 16, second_worker_above = 256;
  const std::size_t max_workers_ = std::max(1U, std::thread::hardware_concurrency());
  net::thread_pool pool_{pool_threads};
  std::mutex mutex_;
  std::deque<std::shared_ptr<connection>> line_;
  std::size_t workers_ = 0;
  const std::chrono::nanoseconds work_;  // CPU time burnt per request
};

std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

std::optional<hand_off> storage_side;  // set by --hand-off

class connection : public std::enable_shared_from_this<connection> {
 public:
  explicit connection(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&connection::on_read, shared_from_this()));
  }

  // On a storage-side worker: the answer goes back to the connection's strand.
  void post_answer() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->answer(); });
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return;  // the client closed, or sent something unreadable
    if (storage_side) return storage_side->push(shared_from_this());
    answer();
  }

  void answer() {
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

void hand_off::push(std::shared_ptr<connection> c) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    line_.push_back(std::move(c));
    start = workers_ == 0 || (line_.size() > second_worker_above && workers_ < max_workers_);
    if (start) ++workers_;
  }
  if (start) net::post(pool_, [this] { work(); });
}

void hand_off::work() {
  std::vector<std::shared_ptr<connection>> taken;
  bool helper = false;
  {
    std::lock_guard lock(mutex_);
    if (line_.empty()) {
      --workers_;
      return;
    }
    while (!line_.empty() && taken.size() < take_at_most) {
      taken.push_back(std::move(line_.front()));
      line_.pop_front();
    }
    helper = !line_.empty() && workers_ < max_workers_;
    if (helper) ++workers_;
  }
  if (helper) net::post(pool_, [this] { work(); });
  if (work_.count() > 0) {
    const auto until = thread_cpu_time() + work_ * taken.size();
    while (thread_cpu_time() < until) {
    }
  }
  for (auto& c : taken) c->post_answer();
  net::defer(pool_, [this] { work(); });
}

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

template <class Number>
bool parse_number(std::string_view s, Number& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto take_flag = [&](std::string_view flag) {
    const bool there = !args.empty() && args.front() == flag;
    if (there) args.erase(args.begin());
    return there;
  };
  const bool with_hand_off = take_flag("--hand-off");
  double work_us = 0;
  bool usable = true;
  if (with_hand_off && take_flag("--work-us")) {
    usable = !args.empty() && parse_number(args.front(), work_us) && work_us >= 0;
    if (usable) args.erase(args.begin());
  }
  usable = usable && !args.empty() && args.size() <= 2 && parse_number(args[0], port) && port != 0 && port <= 65535 &&
           (args.size() == 1 || (parse_number(args[1], threads) && threads != 0));
  if (!usable) {
    std::fprintf(stderr, "usage: %s [--hand-off [--work-us N]] PORT [THREADS]\n", argv[0]);
    return 2;
  }
  // Threads named as rollupd's roles are (tests/bench/run sums the CPU of
  // each role): the hand-off pool's threads take the name this thread has
  // while it makes them; the main thread serves the network too.
  if (with_hand_off) {
    const rollup::thread_name_scope named("floor-store");
    storage_side.emplace(std::chrono::nanoseconds{static_cast<std::int64_t>(work_us * 1000)});
  }
  try {
    net::io_context ioc(static_cast<int>(threads));
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    accept(acceptor, ioc);
    std::printf("listening on 127.0.0.1:%u\n", port);
    std::fflush(stdout);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i)
      pool.emplace_back([&ioc] {
        rollup::name_this_thread("floor-net");
        ioc.run();
      });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rollupd_beast_floor: %s\n", e.what());
    return 1;
  }
}
