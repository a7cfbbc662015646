#include "rollupd/app/serve.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "rollupd/app/command_line.hpp"
#include "rollupd/app/service_manager.hpp"
#include "rollupd/delivery/dispatcher.hpp"
#include "rollupd/delivery/file_sink.hpp"
#include "rollupd/delivery/log_sink.hpp"
#include "rollupd/delivery/webhook_sink.hpp"
#include "rollupd/http/server.hpp"
#include "rollupd/service/aggregator.hpp"
#include "rollupd/service/system_clock.hpp"
#include "rollupd/service/thread_name.hpp"
#include "rollupd/storage/database.hpp"

namespace rollup::app {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

aggregator_options aggregator_options_of(const config& cfg) {
  aggregator_options o;
  o.rules.max_notifications = cfg.aggregation.max_notifications;
  o.rules.flush_priority = cfg.aggregation.flush_priority;
  o.completion_timeout = cfg.aggregation.completion_timeout;
  o.dedupe_window = cfg.aggregation.dedupe_window;
  o.digest_retention = cfg.aggregation.digest_retention;
  // With fsync the storage threads commit without a sync and one thread
  // syncs the write-ahead log for every commit made meanwhile, then answers
  // them: no storage thread waits on the disk, where before 64 of them
  // waited in RocksDB's own group commit (see README, Durability).
  o.sync_after_commit = cfg.durability == durability_mode::fsync;
  return o;
}

http::server_options server_options_of(const config& cfg) {
  http::server_options o;
  o.host = cfg.listen.host;
  o.port = cfg.listen.port;
  o.max_body_bytes = cfg.max_body_bytes;
  o.api_token = cfg.api_token;
  o.max_connections = cfg.max_connections;
  return o;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

unsigned thread_count(const config& cfg) {
  if (cfg.threads > 0) return cfg.threads;
  return std::max(1U, std::thread::hardware_concurrency());
}

// Everything the daemon owns, torn down in the one order that is safe (see
// ~daemon): the aggregator drained and joined while the io_context its
// handlers post to still exists, then the server and the io_context, the
// database last.
class daemon {
 public:
  explicit daemon(const config& cfg) : cfg_(cfg), threads_(thread_count(cfg)) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) throw std::runtime_error("cannot create data_dir " + cfg.data_dir + ": " + ec.message());

    storage::database_options dbo;
    dbo.path = cfg.data_dir;
    dbo.sync = cfg.durability == durability_mode::fsync;
    db_ = storage::database::open(dbo);

    // One registry for every room, served on GET /metrics.
    auto registry = std::make_shared<metrics::registry>();
    registry->build_info.with({version_number()}).set(1);

    delivery::dispatcher_options dlo;
    dlo.max_attempts = cfg.delivery.webhook.max_attempts;
    dlo.metrics = registry;
    {
      // The pools' threads take their creator's name (thread_name.hpp).
      const thread_name_scope named("rollupd-deliver");
      dispatcher_ = std::make_unique<delivery::dispatcher>(*db_, clock_, dlo);
    }
    dispatcher_->add(delivery::make_log_sink());
    if (!cfg.delivery.file_path.empty()) dispatcher_->add(delivery::make_file_sink(cfg.delivery.file_path));
    if (!cfg.delivery.webhook.url.empty())
      dispatcher_->add(
          delivery::make_webhook_sink(dispatcher_->executor(),
                                      delivery::webhook_options{cfg.delivery.webhook.url, cfg.delivery.webhook.secret,
                                                                cfg.delivery.webhook.timeout},
                                      clock_));

    auto ao = aggregator_options_of(cfg);
    ao.sinks = dispatcher_->sink_names();
    ao.on_queued = [d = dispatcher_.get()](queued_digests q) { d->notify(q.lowest_id, std::move(q.made)); };
    ao.checkpoint_dir = (std::filesystem::path(cfg.data_dir) / "checkpoints").string();
    ao.metrics = registry;
    {
      const thread_name_scope named("rollupd-store");
      aggregator_ = std::make_unique<aggregator>(*db_, clock_, std::move(ao));
    }
    dispatcher_->start();
    ioc_ = std::make_unique<asio::io_context>(static_cast<int>(threads_));
    auto so = server_options_of(cfg);
    so.metrics = registry;
    server_ = std::make_unique<http::server>(*ioc_, *aggregator_, clock_, std::move(so));
    bound_ = server_->start();
  }

  ~daemon() {
    if (aggregator_) aggregator_->drain();
    // Destroying the aggregator joins its storage threads. That must happen
    // while the io_context still exists: a storage thread may still hold
    // the last copy of a completion handler that owns an HTTP session (whose
    // timers and socket belong to the io_context), even after drain()
    // returned.
    aggregator_.reset();
    server_.reset();
    ioc_.reset();  // destroys handlers that never ran; nothing calls the aggregator from here on
    // The dispatcher finishes its current deliveries within what is left of
    // shutdown_grace; what it abandons stays queued for the next start.
    if (dispatcher_) {
      const auto left = deadline_ - std::chrono::steady_clock::now();
      dispatcher_->stop(std::max<duration>(std::chrono::duration_cast<duration>(left), std::chrono::seconds{1}));
    }
    dispatcher_.reset();
    db_.reset();  // closes RocksDB
  }

  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  // Serves until a signal asked to stop and the drain finished.
  void run() {
    spdlog::info("{} listening on {}, data_dir {}, durability {}, {} threads", version_text(), endpoint_text(bound_),
                 cfg_.data_dir, durability_name(cfg_.durability), threads_);

    // One strand for the signal set and the drain timer: their handlers
    // never run at the same time, whichever threads run them.
    auto strand = asio::make_strand(*ioc_);
    // SIGHUP too: the terminal that ran us went away (nothing is reloaded:
    // the settings are read at start-up, the digest file is opened per
    // digest), so stop as cleanly as for SIGTERM.
    asio::signal_set signals(strand, SIGINT, SIGTERM, SIGHUP);
    asio::steady_timer poll(strand);
    asio::steady_timer watchdog(strand);
    wait_for_signal(signals, poll, watchdog);
    // The database is open and the port bound: systemd may start what
    // depends on us (Type=notify).
    service_.ready("serving on " + endpoint_text(bound_));
    keep_watchdog(watchdog);

    std::vector<std::thread> pool;
    pool.reserve(threads_ - 1);
    for (unsigned i = 1; i < threads_; ++i)
      pool.emplace_back([this] {
        name_this_thread("rollupd-net");
        run_loop();
      });
    run_loop();
    for (auto& t : pool) t.join();
    spdlog::info("stopped serving; closing the database");
    service_.status("closing the database");
  }

 private:
  void run_loop() {
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (const std::exception& e) {
        // A handler that throws is a bug; keep serving rather than die.
        spdlog::error("unexpected exception on an I/O thread: {}", e.what());
      }
    }
  }

  static const char* signal_name(int sig) {
    switch (sig) {
      case SIGTERM: return "SIGTERM";
      case SIGINT: return "SIGINT";
      case SIGHUP: return "SIGHUP";
      default: return "signal";
    }
  }

  // WATCHDOG=1 every half WatchdogSec=, from the io_context, so a wedged
  // event loop stops the pings and systemd restarts us.
  void keep_watchdog(asio::steady_timer& watchdog) {
    const auto interval = service_.watchdog_interval();
    if (interval.count() == 0 || draining_) return;
    service_.watchdog();
    watchdog.expires_after(interval);
    watchdog.async_wait([this, &watchdog](const boost::system::error_code& ec) {
      if (!ec) keep_watchdog(watchdog);
    });
  }

  void wait_for_signal(asio::signal_set& signals, asio::steady_timer& poll, asio::steady_timer& watchdog) {
    signals.async_wait([this, &signals, &poll, &watchdog](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (draining_) {
        spdlog::warn("{} while draining: closing {} connections now", signal_name(sig), server_->connections());
        finish();
        return;
      }
      draining_ = true;
      watchdog.cancel();
      service_.stopping("draining");
      spdlog::info("{}: draining, waiting up to {} for {} requests in flight", signal_name(sig),
                   format_duration(cfg_.shutdown_grace), server_->in_flight());
      server_->begin_drain();
      deadline_ = std::chrono::steady_clock::now() + cfg_.shutdown_grace;
      wait_for_signal(signals, poll, watchdog);  // a second signal cuts the grace short
      check_drained(signals, poll);
    });
  }

  void check_drained(asio::signal_set& signals, asio::steady_timer& poll) {
    const auto in_flight = server_->in_flight();
    if (in_flight == 0 || std::chrono::steady_clock::now() >= deadline_) {
      if (in_flight > 0) spdlog::warn("shutdown_grace over with {} requests in flight; closing them", in_flight);
      signals.cancel();
      finish();
      return;
    }
    poll.expires_after(20ms);
    poll.async_wait([this, &signals, &poll](const boost::system::error_code& ec) {
      if (!ec) check_drained(signals, poll);
    });
  }

  void finish() {
    server_->stop();
    ioc_->stop();
  }

  const config& cfg_;
  unsigned threads_;
  service_manager service_;
  system_clock clock_;
  std::unique_ptr<storage::database> db_;
  std::unique_ptr<delivery::dispatcher> dispatcher_;
  std::unique_ptr<aggregator> aggregator_;
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<http::server> server_;
  asio::ip::tcp::endpoint bound_;
  bool draining_ = false;  // touched only on the signal strand
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace

int serve(const config& cfg) {
  // A log line written to a pipe whose reader has gone (`rollupd | head`, a
  // log shipper that died) must fail that write, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<daemon> d;
  try {
    d = std::make_unique<daemon>(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    service_manager{}.status(std::string("cannot start: ") + e.what());
    return 1;
  }
  d->run();
  d.reset();
  spdlog::info("shut down cleanly");
  return 0;
}

}  // namespace rollup::app
