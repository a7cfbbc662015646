#pragma once
// The outbox dispatcher (SPEC §5): delivers every outbox entry to its sink,
// at least once, in order per user, and retires an entry only after the
// sink confirmed it. Failures are retried with backoff and dead-lettered
// after max_attempts.
//
// Each sink has its own lane (a strand on the dispatcher's threads), so a
// slow or failing sink never holds up another, and nothing here runs on the
// threads that serve the network or apply notifications. Per lane, only the
// oldest pending entry of each user is attempted; that user's later digests
// wait behind it. Entries left in the outbox when the daemon stops are
// picked up again when it starts. Besides the passes that new entries and
// completions start, a pass at least every idle_poll reads each outbox whole.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rollupd/core/time.hpp"
#include "rollupd/delivery/sink.hpp"
#include "rollupd/metrics/registry.hpp"

namespace rollup::storage {
class database;
}

namespace rollup::delivery {

struct dispatcher_options {
  int max_attempts = 20;                         // then the entry is dead-lettered
  std::size_t max_in_flight = 8;                 // attempts at once, per sink that waits on a receiver
  // Per sink whose attempts finish inside deliver() (sink::finishes_inline):
  // what is in flight there is the confirmations waiting to be retired in
  // one write, so a larger number makes those writes fewer. At 8 the
  // dispatcher took a third more CPU under arrays of 100 (tests/bench/RESULTS.md,
  // session 23).
  std::size_t max_in_flight_inline = 64;
  std::size_t scan_limit = 1000;                 // outbox entries looked at per pass
  duration idle_poll = std::chrono::seconds{5};  // look at the outbox at least this often
  std::size_t threads = 2;
  // Where attempts, outbox depth and delivery latency are counted.
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
};

class dispatcher {
 public:
  dispatcher(storage::database& db, const time_source& clock, dispatcher_options options);
  ~dispatcher();  // stop(0) unless stopped
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Where sinks run their asynchronous I/O.
  boost::asio::any_io_executor executor();

  // Adds a sink; only before start(), and before anything else queues
  // digests (the sink's outbox depth starts from a count of its entries).
  void add(std::unique_ptr<sink> s);
  std::vector<std::string> sink_names() const;

  void start();
  // New entries are in the outbox, none with a digest Id below `from`
  // (thread-safe, cheap: passes coalesce). A pass reads the outbox from the
  // lowest such Id or the oldest entry it last found pending, whichever is
  // lower, so it never walks the deleted keys of entries retired long ago.
  // `made`: the new digests as committed (a digest never changes once
  // committed), so each sink's first attempt need not read them back.
  void notify(const std::string& from, std::vector<std::shared_ptr<const digest>> made = {});
  // Anything may be new: the next pass reads each outbox from its start.
  void notify();
  // Stops starting attempts, waits up to `grace` for those in flight, then
  // cancels the rest (they stay in the outbox: nothing unconfirmed is
  // retired) and joins the threads. Blocks.
  void stop(duration grace);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rollup::delivery
