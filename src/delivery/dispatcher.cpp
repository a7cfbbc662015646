#include "rollupd/delivery/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "rollupd/core/json_text.hpp"
#include "rollupd/delivery/backoff.hpp"
#include "rollupd/storage/database.hpp"

namespace rollup::delivery {
namespace {

namespace asio = boost::asio;
using strand_type = asio::strand<asio::thread_pool::executor_type>;

// Entries a lane holds in memory while they wait behind an older digest of
// their user (beyond this, passes read them again instead).
constexpr std::size_t max_waiting = 10000;
// How long a pass that notify() asks for waits, so that the digests commits
// queue meanwhile share it: the dispatcher's threads wake once per window,
// not once per digest, and preempt the threads serving requests less.
constexpr auto notify_window = std::chrono::milliseconds{2};
// The copies notify() is handed are kept up to this size in all, and for
// this long at most: a copy no lane asks for (one reached its entry in the
// outbox before the copy came) goes then.
constexpr std::size_t max_copy_bytes = std::size_t{16} << 20;
constexpr auto max_copy_age = std::chrono::seconds{5};

// About the memory a copy of `d` holds.
std::size_t approximate_size(const digest& d) {
  std::size_t n = sizeof(digest) + d.id.size() + d.email.size();
  for (const auto& x : d.notifications)
    n += sizeof(notification) + x.email.size() + x.correlation_id.size() + x.text.size() + (x.id ? x.id->size() : 0) +
         (x.extra.empty() ? 0 : json_text_size(x.extra).value_or(0));
  return n;
}

}  // namespace

struct dispatcher::impl {
  // One sink's lane. Every member is touched only on `strand`.
  struct lane {
    lane(std::unique_ptr<sink> sk, strand_type st, std::size_t max, metrics::registry& m)
        : s(std::move(sk)),
          strand(st),
          max_in_flight(max),
          timer(st),
          soon(st),
          depth(m.outbox_depth.with({s->name()})),
          delivered(m.deliveries.with({s->name(), "delivered"})),
          failed(m.deliveries.with({s->name(), "failed"})),
          dead_lettered(m.deliveries.with({s->name(), "dead_lettered"})),
          latency(m.delivery_latency.with({s->name()})) {}
    std::unique_ptr<sink> s;
    strand_type strand;
    std::size_t max_in_flight;  // attempts at once
    asio::steady_timer timer;
    asio::steady_timer soon;  // the pass notify() asked for
    std::atomic<bool> soon_armed{false};
    std::unordered_map<std::string, std::string> busy;  // user -> digest Id of their attempt in flight
    // Entries read and held back because an older digest of their user goes
    // first, per user in Id order: a pass skips them, and when the user's
    // older digest is retired the next one is attempted from here.
    std::unordered_map<std::string, std::map<std::string, storage::outbox_entry>> waiting;
    std::unordered_set<std::string> waiting_ids;
    std::size_t in_flight = 0;
    // Confirmed by the sink, to be retired together (still in flight until then).
    std::vector<storage::outbox_entry> confirmed;
    std::vector<std::optional<timestamp>> confirmed_first;  // when each one's group began
    bool stopping = false;
    std::atomic<bool> scan_queued{false};
    // Where the next pass starts reading (a digest Id): the first entry the
    // last pass left for later; nullopt when it left none.
    std::optional<std::string> start{std::string{}};
    std::chrono::steady_clock::time_point last_whole{};  // when a pass last read the outbox whole
    std::mutex told_mutex;
    std::optional<std::string> told;  // the lowest Id notify() named since the last pass
    std::mt19937_64 random{std::random_device{}()};
    metrics::gauge& depth;
    metrics::counter& delivered;
    metrics::counter& failed;
    metrics::counter& dead_lettered;
    metrics::histogram& latency;
  };

  impl(storage::database& db, const time_source& clock, dispatcher_options options)
      : db_(db), clock_(clock), options_(options), pool_(options.threads) {}

  void queue_scan(lane& l) {
    if (l.scan_queued.exchange(true)) return;
    asio::post(l.strand, [this, &l] {
      l.scan_queued = false;
      scan(l, false);
    });
  }

  // Records that a pass must read from `from` or lower.
  void name(lane& l, const std::string& from) {
    std::lock_guard lock(l.told_mutex);
    if (!l.told || from < *l.told) l.told = from;
  }

  void tell(lane& l, const std::string& from) {
    name(l, from);
    queue_scan(l);
  }

  // notify(), from any thread: the pass comes within notify_window.
  void tell_soon(lane& l, const std::string& from) {
    name(l, from);
    if (l.soon_armed.exchange(true)) return;
    asio::post(l.strand, [this, &l] {
      l.soon.expires_after(notify_window);
      l.soon.async_wait([this, &l](boost::system::error_code ec) {
        l.soon_armed = false;
        if (!ec) scan(l, false);
      });
    });
  }

  // A pass reads from the lower of l.start and l.told (`whole`: from the
  // outbox's start) and attempts what is due, each user's oldest digest
  // first. Every pending entry is in flight (if it stays pending, its finish
  // names it again), or waiting in memory behind an older digest of its user
  // (its turn comes when that one is retired), or named by notify(), or at or
  // above where the next pass starts: the first entry this pass left for
  // later, because it is not due, the lane was full, or too many wait. So a
  // pass never reads again what an earlier one already handed out or held.
  void scan(lane& l, bool whole) {
    if (l.stopping) return;
    std::optional<std::string> from;
    {
      std::lock_guard lock(l.told_mutex);
      from = std::exchange(l.told, std::nullopt);
    }
    // Under steady load every pass re-arms the idle timer before it fires,
    // so the whole pass due every idle_poll is also kept by the clock here.
    const auto tick = std::chrono::steady_clock::now();
    if (whole || tick - l.last_whole >= options_.idle_poll) {
      from = std::string{};
      l.last_whole = tick;
    }
    if (l.start && (!from || *l.start < *from)) from = l.start;
    if (!from) return arm(l, options_.idle_poll);  // nothing pending, nothing new
    const std::string name(l.s->name());
    const auto now = clock_.now();
    std::optional<std::string> next;      // where the next pass starts
    std::string last;                     // the last entry read
    std::unordered_set<std::string> met;  // users whose oldest pending entry was read
    duration wait = options_.idle_poll;
    const auto later = [&next](const std::string& id) {
      if (!next) next = id;
    };
    auto read = db_.visit_outbox(name, *from, options_.scan_limit, [&](storage::outbox_entry e) {
      last = e.digest_id;
      const bool oldest = met.insert(e.email).second;
      if (l.waiting_ids.count(e.digest_id) != 0) return true;  // held
      const auto busy = l.busy.find(e.email);
      if (busy != l.busy.end() && busy->second == e.digest_id) return true;  // in flight
      // An older digest of this user goes first.
      if (!oldest || busy != l.busy.end()) {
        if (!hold(l, e)) later(e.digest_id);
        return true;
      }
      if (e.next_attempt_at > now) {
        wait = std::min<duration>(wait, e.next_attempt_at - now);
        later(e.digest_id);
        return true;
      }
      if (l.in_flight >= l.max_in_flight) {  // a completion scans again
        later(e.digest_id);
        return false;
      }
      attempt(l, std::move(e));
      return true;
    });
    if (!read) {
      spdlog::warn("delivery to {}: cannot read the outbox: {}", name, read.err().detail);
      l.start = std::string{};
      return arm(l, std::chrono::seconds{1});
    }
    if (!next && *read == options_.scan_limit) next = last;  // more may follow
    l.start = next;
    arm(l, wait);
  }

  void arm(lane& l, duration wait) {
    l.timer.expires_after(std::max<duration>(wait, std::chrono::milliseconds{1}));
    l.timer.async_wait([this, &l](boost::system::error_code ec) {
      if (!ec) scan(l, true);
    });
  }

  bool hold(lane& l, const storage::outbox_entry& e) {
    if (l.waiting_ids.size() >= max_waiting) return false;
    l.waiting_ids.insert(e.digest_id);
    l.waiting[e.email].emplace(e.digest_id, e);
    return true;
  }

  // The oldest entry held for `email`, taken out of the waiting list.
  std::optional<storage::outbox_entry> take_waiting(lane& l, const std::string& email) {
    const auto it = l.waiting.find(email);
    if (it == l.waiting.end()) return std::nullopt;
    auto e = std::move(it->second.begin()->second);
    it->second.erase(it->second.begin());
    if (it->second.empty()) l.waiting.erase(it);
    l.waiting_ids.erase(e.digest_id);
    return e;
  }

  void attempt(lane& l, storage::outbox_entry e) {
    reserve(l, e);
    send(l, std::move(e));
  }

  // Counts `e` in flight: its user is busy until it finishes.
  void reserve(lane& l, const storage::outbox_entry& e) {
    ++l.in_flight;
    ++in_flight_total_;
    l.busy.emplace(e.email, e.digest_id);
  }

  void send(lane& l, storage::outbox_entry e) {
    auto d = take_copy(e.digest_id);
    if (!d) {
      auto stored = db_.read_digest(e.digest_id);
      if (!stored || !*stored) {
        const std::string why = stored ? "the digest is gone" : stored.err().detail;
        return finish(l, std::move(e), attempt_outcome{false, why, std::nullopt}, std::nullopt);
      }
      d = std::make_shared<const digest>(std::move(**stored));
    }
    const auto body = l.s->uses_body() ? json_text(*d) : std::string{};
    const auto first = d->first_received_at;
    l.s->deliver(*d, body, [this, &l, e = std::move(e), first](attempt_outcome o) mutable {
      asio::post(l.strand, [this, &l, e = std::move(e), o = std::move(o), first]() mutable {
        finish(l, std::move(e), std::move(o), first);
      });
    });
  }

  // `first`: when the digest's group got its first notification.
  void finish(lane& l, storage::outbox_entry e, attempt_outcome o, std::optional<timestamp> first) {
    if (o.confirmed) return confirm(l, std::move(e), first);
    const std::string name(l.s->name());
    const auto now = clock_.now();
    bool gone = false;  // dead-lettered: no pass need read it again
    if (l.stopping) {
      // Abandoned by shutdown: not the receiver's fault, not counted.
      spdlog::info("delivery to {}: digest {} abandoned at shutdown; it stays queued", name, e.digest_id);
    } else {
      ++e.attempts;
      if (e.attempts >= options_.max_attempts) {
        spdlog::error("delivery to {}: digest {} dead-lettered after {} attempts: {}", name, e.digest_id, e.attempts,
                      o.error);
        if (auto r = db_.dead_letter(e, o.error); !r) {
          spdlog::warn("delivery to {}: cannot dead-letter digest {}: {}", name, e.digest_id, r.err().detail);
        } else {
          gone = true;
          l.depth.add(-1);
          l.dead_lettered.inc();
        }
      } else {
        l.failed.inc();
        const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(l.random);
        const auto delay = backoff_delay(e.attempts, jitter, o.retry_after);
        e.next_attempt_at = now + delay;
        spdlog::warn("delivery to {}: digest {} attempt {} failed: {}; next in {}", name, e.digest_id, e.attempts,
                     o.error, format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(delay)));
        if (auto r = db_.record_failure(e, o.error); !r)
          spdlog::warn("delivery to {}: cannot record a failed attempt: {}", name, r.err().detail);
      }
    }
    done_with(l, e, gone, now);
  }

  // The sink confirmed `e`. It is retired together with the others
  // confirmed meanwhile, in one transaction: the first confirmation of a
  // batch queues the retiring behind the confirmations already queued on
  // the lane (a pass's attempts of a synchronous sink are all queued by
  // then), so a pass costs one commit, not one per digest. Until then its
  // user stays busy, so their next digest still waits for it.
  void confirm(lane& l, storage::outbox_entry e, std::optional<timestamp> first) {
    ++e.attempts;
    l.confirmed.push_back(std::move(e));
    l.confirmed_first.push_back(first);
    if (l.confirmed.size() == 1) asio::post(l.strand, [this, &l] { retire_confirmed(l); });
  }

  void retire_confirmed(lane& l) {
    const std::string name(l.s->name());
    const auto entries = std::exchange(l.confirmed, {});
    const auto firsts = std::exchange(l.confirmed_first, {});
    const auto now = clock_.now();
    // Not retired: the entries stay in the outbox and are delivered again
    // later (at least once).
    const auto r = db_.retire(entries, now);
    if (!r)
      spdlog::warn("delivery to {}: {} confirmed digest(s) not retired: {}", name, entries.size(), r.err().detail);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      if (r) {
        spdlog::debug("delivery to {}: digest {} confirmed after {} attempt(s)", name, e.digest_id, e.attempts);
        l.depth.add(-1);
        l.delivered.inc();
        if (firsts[i]) l.latency.observe(std::chrono::duration<double>(now - *firsts[i]).count());
      }
      done_with(l, e, r.has_value(), now);
    }
  }

  // `e`'s attempt is over; `gone`: retired or dead-lettered.
  void done_with(lane& l, const storage::outbox_entry& e, bool gone, timestamp now) {
    --l.in_flight;
    l.busy.erase(e.email);
    {
      std::lock_guard lock(mutex_);
      --in_flight_total_;
    }
    idle_cv_.notify_all();
    if (l.stopping) return;
    // Still pending (a failed attempt, or bookkeeping that did not write):
    // a pass may have started past it while it was in flight, so name it.
    if (!gone) return tell(l, e.digest_id);
    // The user's next digest, if one waits: due, it goes now (on a fresh
    // task, so a run of missing digests cannot nest); else a pass sees to it.
    if (auto next = take_waiting(l, e.email)) {
      if (next->next_attempt_at > now) {
        tell(l, next->digest_id);
      } else {
        reserve(l, *next);
        asio::post(l.strand, [this, &l, next = std::move(*next)]() mutable {
          if (l.stopping) return finish(l, std::move(next), attempt_outcome{false, "shutting down", std::nullopt}, {});
          send(l, std::move(next));
        });
      }
    }
    queue_scan(l);
  }

  // --- copies of new digests ------------------------------------------------

  // A digest handed to notify() by the commit that made it. Reading it back
  // searched the memtable of every recent digest: under arrays of 100 the
  // dispatcher's threads spend about 14 % less CPU without that read
  // (tests/bench/RESULTS.md, session 17).
  struct copy {
    std::shared_ptr<const digest> d;
    std::size_t lanes_left;  // lanes yet to attempt it
    std::size_t bytes;
    std::chrono::steady_clock::time_point at;  // when it was handed over
  };

  void keep_copies(std::vector<std::shared_ptr<const digest>> made) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(copies_mutex_);
    while (!copies_.empty() && now - copies_.begin()->second.at > max_copy_age) drop_copy(copies_.begin());
    for (auto& d : made) {
      const auto bytes = approximate_size(*d);
      if (copies_bytes_ + bytes > max_copy_bytes) continue;  // read back when attempted, as any older digest
      const auto id = d->id;
      if (copies_.try_emplace(id, copy{std::move(d), lanes_.size(), bytes, now}).second) copies_bytes_ += bytes;
    }
  }

  // The copy of digest `id`, if one was handed over: it goes once taken as
  // many times as there are lanes (a retry that takes it again leaves
  // another lane to read the digest back, which is the same).
  std::shared_ptr<const digest> take_copy(const std::string& id) {
    std::lock_guard lock(copies_mutex_);
    const auto it = copies_.find(id);
    if (it == copies_.end()) return nullptr;
    auto d = it->second.d;
    if (--it->second.lanes_left == 0) drop_copy(it);
    return d;
  }

  void drop_copy(std::map<std::string, copy>::iterator it) {
    copies_bytes_ -= it->second.bytes;
    copies_.erase(it);
  }

  storage::database& db_;
  const time_source& clock_;
  dispatcher_options options_;
  asio::thread_pool pool_;
  std::vector<std::unique_ptr<lane>> lanes_;
  bool started_ = false;
  bool stopped_ = false;

  std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::atomic<std::size_t> in_flight_total_{0};

  std::mutex copies_mutex_;
  std::map<std::string, copy> copies_;  // by digest Id, so the oldest come first
  std::size_t copies_bytes_ = 0;
};

dispatcher::dispatcher(storage::database& db, const time_source& clock, dispatcher_options options)
    : impl_(std::make_unique<impl>(db, clock, options)) {}

dispatcher::~dispatcher() { stop(duration{0}); }

boost::asio::any_io_executor dispatcher::executor() { return impl_->pool_.get_executor(); }

void dispatcher::add(std::unique_ptr<sink> s) {
  const auto& o = impl_->options_;
  const auto max = s->finishes_inline() ? o.max_in_flight_inline : o.max_in_flight;
  auto& l = *impl_->lanes_.emplace_back(
      std::make_unique<impl::lane>(std::move(s), asio::make_strand(impl_->pool_), max, *o.metrics));
  auto stored = impl_->db_.count_outbox_of(std::string(l.s->name()));
  if (!stored) spdlog::warn("delivery to {}: cannot count the outbox: {}", l.s->name(), stored.err().detail);
  l.depth.set(stored ? static_cast<std::int64_t>(*stored) : 0);
}

std::vector<std::string> dispatcher::sink_names() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->lanes_) out.emplace_back(l->s->name());
  return out;
}

void dispatcher::start() {
  impl_->started_ = true;
  notify();
}

void dispatcher::notify(const std::string& from, std::vector<std::shared_ptr<const digest>> made) {
  if (!impl_->started_) return;
  if (!made.empty()) impl_->keep_copies(std::move(made));
  for (auto& l : impl_->lanes_) impl_->tell_soon(*l, from);
}

void dispatcher::notify() { notify(std::string{}); }

void dispatcher::stop(duration grace) {
  if (impl_->stopped_) return;
  impl_->stopped_ = true;
  for (auto& l : impl_->lanes_) {
    asio::post(l->strand, [lp = l.get()] {
      lp->stopping = true;
      lp->timer.cancel();
      lp->soon.cancel();
    });
  }
  const auto idle = [this] { return impl_->in_flight_total_.load() == 0; };
  {
    std::unique_lock lock(impl_->mutex_);
    impl_->idle_cv_.wait_for(lock, grace, idle);
  }
  if (!idle()) {
    spdlog::info("delivery: shutdown_grace over; abandoning {} attempt(s) in flight", impl_->in_flight_total_.load());
    for (auto& l : impl_->lanes_) l->s->cancel();
    std::unique_lock lock(impl_->mutex_);
    impl_->idle_cv_.wait_for(lock, std::chrono::seconds{5}, idle);
  }
  impl_->pool_.join();
}

}  // namespace rollup::delivery
