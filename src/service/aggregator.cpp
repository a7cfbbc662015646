#include "rollupd/service/aggregator.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "rollupd/service/id_generator.hpp"
#include "rollupd/service/thread_name.hpp"
#include "rollupd/storage/database.hpp"

namespace rollup {
namespace {

constexpr std::size_t shard_count = 64;
constexpr std::size_t max_items_per_transaction = 1000;
// 256 rather than 64: an array of 100 notifications for 100 users then
// goes into one transaction, not two, and arrays of 100 answered 14-20 %
// more requests (tests/bench/RESULTS.md, session 23).
constexpr std::size_t max_users_per_transaction = 256;
// Whole requests (a notification, a flush) answered by one transaction:
// their callers wait for its commit and nothing else. Under load a worker
// holding all 64 connections' requests left the cores 11 % idle while the
// network threads and clients waited for its commit; in transactions of at
// most 16 the answers flow back sooner and scenario 1 answered 3 % more
// (tests/bench/RESULTS.md, session 24). An array's parts do not count:
// its answer waits for all of them anyway.
constexpr std::size_t max_requests_per_transaction = 16;
constexpr auto prune_interval = std::chrono::seconds{60};
constexpr std::size_t prune_batch = 10000;

error draining_error() {
  return error{errc::draining, "rollupd is shutting down and takes no new work; retry shortly", {}};
}

// One ingest request, possibly split into one part per correlation ID.
struct ingest_state {
  std::mutex mutex;
  std::vector<ingest_result> results;  // one per item, sized before any part is queued
  std::optional<error> failure;
  std::size_t parts_left = 0;
  aggregator::handler<std::vector<ingest_result>> done;
};

// A round of jobs queued behind users' strands (timeouts, forgetting
// expired records): counts one per job plus one for the loop that queues
// them, and answers the sum of what they counted exactly once, when the last
// of them finishes, whichever that is.
class countdown {
 public:
  countdown(std::size_t jobs, aggregator::handler<std::size_t> done) : left_(jobs + 1), done_(std::move(done)) {}
  void finished(std::size_t counted) {
    bool last = false;
    {
      std::lock_guard lock(mutex_);
      total_ += counted;
      last = --left_ == 0;
    }
    if (last) done_(total_);
  }

 private:
  std::mutex mutex_;
  std::size_t left_;
  std::size_t total_ = 0;
  aggregator::handler<std::size_t> done_;
};

// Work queued behind one correlation ID's strand.
struct job {
  std::shared_ptr<ingest_state> request{};                    // set for an ingest part
  std::vector<std::pair<std::size_t, notification>> items{};  // (index in request, item)
  std::optional<std::string> header_key{};
  aggregator::handler<digest> flush_done{};  // set for a flush or a timeout
  completion_reason why = completion_reason::flush;
  std::vector<storage::expired_record> forget{};  // set to forget expired idempotency records
  std::function<void(bool)> forgotten{};          // told whether they were
};

// A vector, not a std::deque: an empty deque already allocates, and a
// queue is made each time an idle user's strand gets work (session 19).
struct user_queue {
  std::vector<job> jobs;
};

// A user whose strand has work queued: in the line, waiting for a worker
// (no jobs yet), or held by one worker with the jobs it took for a transaction.
struct user_work {
  std::string cid;
  user_queue* q = nullptr;  // in its shard's map, whose nodes stay put until the strand retires
  std::vector<job> jobs;
};

}  // namespace

struct aggregator::impl {
  impl(storage::database& db, const time_source& clock, aggregator_options options)
      : db_(db),
        clock_(clock),
        options_(std::move(options)),
        started_at_(clock.now()),
        pool_(options_.storage_threads),
        timer_strand_(boost::asio::make_strand(pool_)),
        prune_timer_(timer_strand_),
        timeout_timer_(timer_strand_),
        metrics_(*options_.metrics),
        open_groups_(metrics_.open_groups.with({})) {
    // The gauge starts from what is stored; from here on every commit
    // moves it. (A failed count leaves 0; storage errors show elsewhere.)
    if (auto n = db_.count_groups()) open_groups_.set(static_cast<std::int64_t>(*n));
    if (options_.sync_after_commit) syncer_ = std::thread([this] { sync_loop(); });
  }

  // --- bookkeeping of work taken, so drain() can wait for it -------------

  bool take_work() {
    std::lock_guard lock(drain_mutex_);
    if (draining_) return false;
    ++outstanding_;
    return true;
  }

  // Answers, then lets go of the handler before counting the work done: a
  // handler may own the last reference to its caller (an HTTP session), and
  // drain() must not return while one is still alive.
  template <class T>
  void release_then_done(handler<T> done, result<T> r) {
    {
      auto h = std::move(done);
      h(std::move(r));
    }
    work_done();
  }

  void work_done() {
    std::lock_guard lock(drain_mutex_);
    if (--outstanding_ == 0) drain_cv_.notify_all();
  }

  // Runs `fn` on a storage thread as taken work; answers draining otherwise.
  template <class T, class Fn>
  void run_read(handler<T> done, Fn fn) {
    if (!take_work()) return boost::asio::post(pool_, [done = std::move(done)] { done(draining_error()); });
    boost::asio::post(pool_, [this, done = std::move(done), fn = std::move(fn)]() mutable {
      release_then_done(std::move(done), fn());
    });
  }

  // --- the per-correlation-ID strand ---------------------------------------

  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, user_queue> users;  // only users with queued or running work
  };

  shard& shard_of(const std::string& cid) { return shards_[std::hash<std::string>{}(cid) % shard_count]; }

  // Queues `j` behind the user's strand. Answers the user when their strand
  // was idle: the caller hands them to make_ready().
  std::optional<user_work> push(const std::string& cid, job j) {
    auto& sh = shard_of(cid);
    std::lock_guard lock(sh.mutex);
    auto [it, idle] = sh.users.try_emplace(cid);
    it->second.jobs.push_back(std::move(j));
    if (!idle) return std::nullopt;
    return user_work{cid, &it->second, {}};
  }

  void enqueue(const std::string& cid, job j) {
    if (auto u = push(cid, std::move(j))) make_ready({std::move(*u)});
  }

  // Users whose strands have work and no storage thread wait in one line.
  // A worker takes as many of them as one transaction holds and runs all
  // their work in that transaction, so under load a commit serves many users
  // (and an array's many users), not one. Each user is in the line at most
  // once and only one worker has them at a time: that is their strand.
  // A second worker starts only once the line holds more than one
  // transaction's users (or when a worker leaves users behind, see work()):
  // a user who arrives while a worker commits waits for that commit and
  // goes into its next transaction. Starting a worker for them at once woke
  // a sleeping thread and put two commits into RocksDB's write group
  // together; at half load that cost 5 to 17 us more CPU a request, and
  // the threads waited for a core two thirds longer (tests/bench/RESULTS.md,
  // session 21).
  void make_ready(std::vector<user_work> users) {
    bool start = false;
    {
      std::lock_guard lock(ready_mutex_);
      for (auto& u : users) ready_.push_back(std::move(u));
      start = workers_ == 0 || (ready_.size() > max_users_per_transaction && workers_ < max_workers_);
      if (start) ++workers_;
    }
    if (start) boost::asio::post(pool_, [this] { work(); });
  }

  // A worker: takes ready users and runs them in one transaction, then
  // defers itself to the back of the pool's queue while the line has users,
  // so reads, timers and checkpoints queued meanwhile run in between. When
  // it leaves users in the line it starts another worker, up to
  // max_workers_.
  void work() {
    std::vector<user_work> batch;
    bool helper = false;
    {
      std::lock_guard lock(ready_mutex_);
      if (ready_.empty()) {
        --workers_;
        return;
      }
      std::size_t items = 0, requests = 0;
      while (!ready_.empty() && batch.size() < max_users_per_transaction && items < max_items_per_transaction &&
             requests < max_requests_per_transaction) {
        auto& w = ready_.front();
        take(w, batch.empty() ? std::nullopt : std::optional(max_items_per_transaction - items));
        if (w.jobs.empty()) break;  // their next job does not fit: they stay first in line
        for (const auto& j : w.jobs) {
          items += weight(j);
          requests += answers_alone(j) ? 1 : 0;
        }
        batch.push_back(std::move(w));
        ready_.pop_front();
      }
      helper = !ready_.empty() && workers_ < max_workers_;
      if (helper) ++workers_;
    }
    if (helper) boost::asio::post(pool_, [this] { work(); });
    run(std::move(batch));
    boost::asio::defer(pool_, [this] { work(); });
  }

  // Moves every sink's outbox gauge by `digests`.
  void count_queued(std::int64_t digests) {
    if (digests == 0) return;
    for (const auto& sink : options_.sinks) metrics_.outbox_depth.with({sink}).add(digests);
  }

  // What a job counts for against max_items_per_transaction (a flush or a
  // timeout counts as one).
  static std::size_t weight(const job& j) { return std::max<std::size_t>({j.items.size(), j.forget.size(), 1}); }

  // Whether the job alone answers its caller, who waits for its commit and
  // nothing else (max_requests_per_transaction): an ingest whose items all
  // went to this one user, or a flush. Not an array's part for one of
  // several users, a timeout or forgetting records (their rounds answer when
  // all their jobs are done).
  static bool answers_alone(const job& j) {
    if (j.request) return j.items.size() == j.request->results.size();
    return j.flush_done && j.why == completion_reason::flush;
  }

  // Takes the user's queued jobs into w.jobs, in order, up to `budget` items;
  // without a budget, up to max_items_per_transaction and at least one job.
  // None when their first job is over the budget.
  void take(user_work& w, std::optional<std::size_t> budget) {
    std::lock_guard lock(shard_of(w.cid).mutex);
    const auto limit = budget.value_or(max_items_per_transaction);
    std::size_t items = 0;
    auto& jobs = w.q->jobs;
    auto next = jobs.begin();
    while (next != jobs.end() && ((!budget && w.jobs.empty()) || items + weight(*next) <= limit)) {
      items += weight(*next);
      w.jobs.push_back(std::move(*next++));
    }
    jobs.erase(jobs.begin(), next);
  }

  // Runs the users' jobs in one transaction. If it fails with several users
  // in it, each user's jobs run again in a transaction of their own, so one
  // user's trouble (say, an unreadable group) fails only
  // that user's requests. Then each strand retires (nothing left: the entry
  // is erased, so idle users cost no memory) or gets back in line, and the
  // callers are answered.
  void run(std::vector<user_work> batch) {
    std::vector<applied> done;
    if (auto all = apply(batch, batch.size() > 1)) {
      done.push_back(std::move(*all));
    } else {
      for (auto& w : batch) done.push_back(std::move(*apply({&w, 1}, false)));
    }
    std::vector<user_work> again;
    for (auto& w : batch) {
      auto& sh = shard_of(w.cid);
      std::lock_guard lock(sh.mutex);
      if (w.q->jobs.empty())
        sh.users.erase(w.cid);
      else
        again.push_back(user_work{std::move(w.cid), w.q, {}});
    }
    if (!again.empty()) make_ready(std::move(again));
    for (auto& d : done) {
      if (d.committed && options_.sync_after_commit) {
        after_sync(std::move(d));
        continue;
      }
      if (d.committed && !d.queued.empty() && options_.on_queued) options_.on_queued(queued_of({&d, 1}));
      d.answer(std::nullopt);
    }
  }

  // What one transaction did, for the callers to hear once it is durable.
  struct applied {
    bool committed = false;
    std::vector<std::shared_ptr<const digest>> queued;  // the digests it queued, lowest Id first
    // Answers the transaction's callers; a failed sync, when given, answers
    // instead of what the transaction did.
    std::function<void(const std::optional<error>& sync_failure)> answer;
  };

  // What the transactions in `done` queued, for the dispatcher.
  static queued_digests queued_of(std::span<applied> done) {
    queued_digests q;
    for (auto& d : done) {
      if (d.queued.empty()) continue;
      if (q.made.empty() || d.queued.front()->id < q.lowest_id) q.lowest_id = d.queued.front()->id;
      std::move(d.queued.begin(), d.queued.end(), std::back_inserter(q.made));
    }
    return q;
  }

  // What each of one user's jobs answers.
  struct user_outcome {
    std::vector<std::vector<std::pair<std::size_t, ingest_result>>> ingest_out;  // per job
    std::vector<std::optional<result<digest>>> flush_out;                        // per job
  };

  // What the metrics and the dispatcher learn once a transaction commits.
  struct commit_counts {
    std::int64_t open_delta = 0;
    std::uint64_t accepted = 0, duplicates = 0;
    std::vector<completion_reason> reasons;
    std::vector<std::shared_ptr<const digest>> queued;  // the digests the transaction queues, lowest Id first
  };

  // --- the load–strategy–save cycle ----------------------------------------

  // Runs every user's jobs in one transaction; returns what answers their
  // callers, to be called once the strands have moved on. With `may_fail`
  // a failed transaction answers nobody: it returns nothing and leaves the
  // jobs as they were, to be run again.
  std::optional<applied> apply(std::span<user_work> work, bool may_fail) {
    const auto now = clock_.now();
    // Every job gets an answer, also those of users after a failure.
    std::vector<user_outcome> outcomes(work.size());
    for (std::size_t u = 0; u < work.size(); ++u) {
      outcomes[u].ingest_out.resize(work[u].jobs.size());
      outcomes[u].flush_out.resize(work[u].jobs.size());
    }
    commit_counts counts;
    auto failure = [&]() -> std::optional<error> {
      // No row locks: the strands already run one cycle of a user at a time,
      // and only cycles write groups and idempotency records.
      auto txn = db_.begin({.unsynced = options_.sync_after_commit, .row_locks = false});
      for (std::size_t u = 0; u < work.size(); ++u)
        if (auto e = cycle(*txn, work[u].cid, work[u].jobs, !may_fail, now, outcomes[u], counts)) return e;
      // The digests are counted in the outbox before the commit lets the
      // dispatcher see them, so it never retires one not yet counted (the
      // gauge would dip below zero); the count is taken back if the commit fails.
      const auto queued = static_cast<std::int64_t>(counts.reasons.size());
      count_queued(queued);
      if (auto r = txn->commit(); !r) {
        count_queued(-queued);
        return r.err();
      }
      return std::nullopt;
    }();
    if (failure && may_fail) return std::nullopt;
    if (!failure) {
      open_groups_.add(counts.open_delta);
      if (counts.accepted > 0) metrics_.notifications_accepted.with({}).inc(counts.accepted);
      if (counts.duplicates > 0) metrics_.notifications_duplicate.with({}).inc(counts.duplicates);
      for (const auto why : counts.reasons) metrics_.digests_emitted.with({reason_name(why)}).inc();
    }

    // Answers go out only after the commit (or the failure).
    std::vector<std::vector<job>> jobs;
    jobs.reserve(work.size());
    for (auto& w : work) jobs.push_back(std::move(w.jobs));
    const bool committed = !failure.has_value();
    return applied{committed, std::move(counts.queued),
                   [this, jobs = std::move(jobs), outcomes = std::move(outcomes),
                    failure = std::move(failure)](const std::optional<error>& sync_failure) mutable {
                     const auto& why = failure ? failure : sync_failure;
                     for (std::size_t u = 0; u < jobs.size(); ++u) {
                       auto& out = outcomes[u];
                       for (std::size_t j = 0; j < jobs[u].size(); ++j) {
                         auto& jb = jobs[u][j];
                         if (jb.flush_done) {
                           release_then_done(std::move(jb.flush_done),
                                             why ? result<digest>(*why) : std::move(*out.flush_out[j]));
                           continue;
                         }
                         if (jb.forgotten) {
                           {  // gone before the work counts as done, as in release_then_done
                             auto told = std::move(jb.forgotten);
                             told(!why);
                           }
                           work_done();
                           continue;
                         }
                         finish_part(*jb.request, why, std::move(out.ingest_out[j]));
                       }
                     }
                   }};
  }

  // One user's load–strategy–save cycle inside `txn`: loads their group,
  // applies their jobs in order, saves the group. Nothing is answered here.
  // The items are moved into the group when `consume`, else copied (the
  // transaction may be run again).
  std::optional<error> cycle(storage::transaction& txn, const std::string& cid, std::vector<job>& jobs, bool consume,
                             timestamp now, user_outcome& out, commit_counts& counts) {
    // Forgetting expired records neither reads nor changes the group (which
    // may even be unreadable).
    if (std::all_of(jobs.begin(), jobs.end(), [](const job& j) { return static_cast<bool>(j.forgotten); })) {
      for (const auto& jb : jobs)
        if (auto e = forget(txn, cid, jb)) return e;
      return std::nullopt;
    }
    auto loaded = txn.load_group(cid);
    if (!loaded) return loaded.err();
    std::optional<group> state = std::move(*loaded);
    const bool was_open = state.has_value();
    bool changed = false;
    const auto pending = [&] { return state ? state->notifications.size() : 0; };
    const auto queued = [&](std::shared_ptr<const digest> d) -> std::optional<error> {
      if (auto r = txn.put_digest(*d, options_.sinks); !r) return r.err();
      counts.reasons.push_back(d->reason);
      counts.queued.push_back(std::move(d));
      return std::nullopt;
    };

    for (std::size_t j = 0; j < jobs.size(); ++j) {
      auto& jb = jobs[j];
      if (jb.forgotten) {
        if (auto e = forget(txn, cid, jb)) return e;
        continue;
      }
      if (jb.flush_done) {
        const bool timeout = jb.why == completion_reason::timeout;
        if (!state || (timeout && !is_due(*state, now))) {
          out.flush_out[j] = result<digest>(errc::not_found, "no open group for " + cid);
          continue;
        }
        // Late: it fell due while the daemon was not running.
        const bool late = timeout && *state->due_at < started_at_;
        auto d = std::make_shared<const digest>(complete(std::move(*state), jb.why, ids_.next(now), now, late));
        state.reset();
        if (auto e = queued(d)) return e;
        out.flush_out[j] = result<digest>(*d);
        changed = true;
        continue;
      }
      for (auto& [index, item] : jb.items) {
        const auto key = item.id ? item.id : jb.header_key;
        if (key) {
          auto seen = txn.seen(cid, *key, now);
          if (!seen) return seen.err();
          if (*seen) {
            ++counts.duplicates;
            out.ingest_out[j].emplace_back(index, ingest_result{cid, pending(), true, nullptr});
            continue;
          }
          if (auto r = txn.remember(cid, *key, now + options_.dedupe_window); !r) return r.err();
        }
        auto step =
            strategy(event{consume ? std::move(item) : item, now, ids_.next(now)}, std::move(state), options_.rules);
        state = std::move(step.state);
        changed = true;
        ++counts.accepted;
        std::shared_ptr<const digest> emitted;  // one copy, for the answer and the dispatcher
        if (step.emitted) {
          emitted = std::make_shared<const digest>(std::move(*step.emitted));
          if (auto e = queued(emitted)) return e;
        }
        out.ingest_out[j].emplace_back(index, ingest_result{cid, pending(), false, std::move(emitted)});
      }
    }
    if (changed) {
      if (state && !state->due_at && options_.completion_timeout.count() > 0)
        state->due_at = state->first_received_at + options_.completion_timeout;
      if (state) {
        if (auto r = txn.save_group(*state); !r) return r.err();
      } else if (was_open) {  // a group completed before it was stored has nothing to delete
        if (auto r = txn.delete_group(cid); !r) return r.err();
      }
    }
    counts.open_delta += (state ? 1 : 0) - (was_open ? 1 : 0);
    return std::nullopt;
  }

  static std::optional<error> forget(storage::transaction& txn, const std::string& cid, const job& jb) {
    for (const auto& r : jb.forget)
      if (auto f = txn.forget(cid, r.key, r.expires_at); !f) return f.err();
    return std::nullopt;
  }

  // --- sync after commit ---------------------------------------------------

  // With sync_after_commit, a committed transaction's answers wait here for
  // the next sync of the write-ahead log. One thread syncs, for every commit
  // made meanwhile, so commits share syncs without threads waiting on them.
  void after_sync(applied done) {
    {
      std::lock_guard lock(sync_mutex_);
      to_sync_.push_back(std::move(done));
    }
    sync_cv_.notify_one();
  }

  void sync_loop() {
    name_this_thread("rollupd-sync");
    std::unique_lock lock(sync_mutex_);
    for (;;) {
      sync_cv_.wait(lock, [this] { return sync_stop_ || !to_sync_.empty(); });
      if (to_sync_.empty()) return;  // stopping, and nothing waits
      auto batch = std::exchange(to_sync_, {});
      lock.unlock();
      const auto synced = db_.sync_wal();
      const auto failure = synced ? std::nullopt : std::optional<error>(synced.err());
      if (!failure && options_.on_queued) {
        auto queued = queued_of(batch);
        if (!queued.made.empty()) options_.on_queued(std::move(queued));
      }
      for (auto& d : batch) d.answer(failure);
      lock.lock();
    }
  }

  void stop_syncer() {
    if (!syncer_.joinable()) return;
    {
      std::lock_guard lock(sync_mutex_);
      sync_stop_ = true;
    }
    sync_cv_.notify_one();
    syncer_.join();
  }

  void finish_part(ingest_state& st, const std::optional<error>& failure,
                   std::vector<std::pair<std::size_t, ingest_result>> out) {
    bool last = false;
    {
      std::lock_guard lock(st.mutex);
      if (failure && !st.failure) st.failure = failure;
      for (auto& [index, r] : out) st.results[index] = std::move(r);
      last = --st.parts_left == 0;
    }
    if (!last) return;
    if (st.failure)
      release_then_done(std::move(st.done), result<std::vector<ingest_result>>(*st.failure));
    else
      release_then_done(std::move(st.done), result<std::vector<ingest_result>>(std::move(st.results)));
  }

  // --- housekeeping ------------------------------------------------------

  void arm_prune() {
    prune_timer_.expires_after(prune_interval);
    prune_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (!take_work()) return;
      // A failure is retried next round.
      forget_expired_now([](const result<std::size_t>&) {});
      (void)db_.prune_digests(clock_.now() - options_.digest_retention, prune_batch);
      work_done();
      arm_prune();
    });
  }

  // Finds up to prune_batch expired idempotency records and queues a job
  // behind each of their users' strands that forgets theirs: the records are
  // written only in their users' cycles, which take no row locks. Answers
  // how many were forgotten once every job has run.
  void forget_expired_now(handler<std::size_t> done) {
    if (!take_work()) return done(draining_error());
    auto expired = db_.expired_records(clock_.now(), prune_batch);
    if (!expired) return release_then_done(std::move(done), result<std::size_t>(expired.err()));
    std::unordered_map<std::string, std::vector<storage::expired_record>> by_user;
    for (auto& r : *expired) by_user[r.correlation_id].push_back(std::move(r));
    auto round = std::make_shared<countdown>(by_user.size(), std::move(done));
    for (auto& [cid, records] : by_user) {
      const auto n = records.size();
      if (!take_work()) {  // draining began: left for the next start
        round->finished(0);
        continue;
      }
      enqueue(cid,
              job{.forget = std::move(records), .forgotten = [round, n](bool ok) { round->finished(ok ? n : 0); }});
    }
    round->finished(0);
    work_done();
  }

  bool draining() {
    std::lock_guard lock(drain_mutex_);
    return draining_;
  }

  void arm_timeouts(duration after) {
    if (options_.completion_timeout.count() <= 0 || draining()) return;
    timeout_timer_.expires_after(after);
    timeout_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) expire_due_now(clock_.now(), rearm_timeouts());
    });
  }

  // The first look emits the groups that fell due while we were down: those
  // due by the start, however late this thread gets to it.
  void first_timeout_look() {
    if (options_.completion_timeout.count() <= 0) return;
    expire_due_now(started_at_, rearm_timeouts());
  }

  handler<std::size_t> rearm_timeouts() {
    return [this](const result<std::size_t>&) {
      boost::asio::post(timer_strand_, [this] { arm_timeouts(options_.timeout_tick); });
    };
  }

  // Finds the due groups (cost in proportion to the index entries falling
  // due: database::due_groups) and queues a timeout job behind each user's
  // strand.
  void expire_due_now(timestamp now, handler<std::size_t> done) {
    if (!take_work()) return done(draining_error());
    auto due = db_.due_groups(now, max_items_per_transaction);
    if (!due) return release_then_done(std::move(done), result<std::size_t>(due.err()));
    std::vector<std::string> fresh;
    {
      std::lock_guard lock(expiring_mutex_);
      for (auto& cid : *due)
        if (expiring_.insert(cid).second) fresh.push_back(std::move(cid));
    }
    if (fresh.empty()) return release_then_done(std::move(done), result<std::size_t>(std::size_t{0}));

    auto round = std::make_shared<countdown>(fresh.size(), std::move(done));
    for (auto& cid : fresh) {
      auto on_done = [this, round, cid](const result<digest>& r) {
        {
          std::lock_guard lock(expiring_mutex_);
          expiring_.erase(cid);
        }
        round->finished(r.has_value() ? 1 : 0);
      };
      if (!take_work()) {  // draining began: not emitted
        on_done(result<digest>(draining_error()));
        continue;
      }
      enqueue(cid, job{.flush_done = std::move(on_done), .why = completion_reason::timeout});
    }
    round->finished(0);
    work_done();
  }

  // A group's due time is fixed when it opens; with completion_timeout 0
  // (timeouts off) no group is due.
  group_summary summarize(const group& g) const {
    const auto due = options_.completion_timeout.count() > 0 ? g.due_at : std::nullopt;
    return group_summary{g.correlation_id, g.notifications.size(), g.first_received_at, due};
  }

  result<stored_digest> with_deliveries(digest d) {
    auto states = db_.read_deliveries(d.id);
    if (!states) return states.err();
    return stored_digest{std::move(d), std::move(*states)};
  }

  storage::database& db_;
  const time_source& clock_;
  aggregator_options options_;
  timestamp started_at_;
  id_generator ids_;
  boost::asio::thread_pool pool_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> timer_strand_;
  boost::asio::steady_timer prune_timer_;
  boost::asio::steady_timer timeout_timer_;
  std::mutex ready_mutex_;
  std::deque<user_work> ready_;  // users whose strands wait for a worker
  std::size_t workers_ = 0;      // workers running
  // One worker per core: more only contend for the cores and split the
  // line into smaller transactions. At least one of the pool's threads is
  // left for reads, timers and checkpoints.
  const std::size_t max_workers_ = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1,
                                                           std::max<std::size_t>(options_.storage_threads, 2) - 1);
  std::mutex expiring_mutex_;
  std::unordered_set<std::string> expiring_;  // users with a timeout job queued
  std::array<shard, shard_count> shards_;
  metrics::registry& metrics_;
  metrics::gauge& open_groups_;

  std::mutex drain_mutex_;
  std::condition_variable drain_cv_;
  std::size_t outstanding_ = 0;
  bool draining_ = false;

  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  std::vector<applied> to_sync_;
  bool sync_stop_ = false;
  std::thread syncer_;  // runs sync_loop() with sync_after_commit
};

aggregator::aggregator(storage::database& db, const time_source& clock, aggregator_options options)
    : impl_(std::make_unique<impl>(db, clock, std::move(options))) {
  boost::asio::post(impl_->timer_strand_, [this] {
    impl_->arm_prune();
    impl_->first_timeout_look();
  });
}

aggregator::~aggregator() {
  drain();  // every answer, also those waiting for a sync, has gone out
  impl_->stop_syncer();
  impl_->pool_.join();
}

void aggregator::ingest(ingest_request request, handler<std::vector<ingest_result>> done) {
  if (!impl_->take_work()) return boost::asio::post(impl_->pool_, [done = std::move(done)] { done(draining_error()); });

  // Split by correlation ID, keeping each user's items in request order.
  std::vector<std::pair<std::string, job>> parts;
  std::unordered_map<std::string, std::size_t> part_of;
  for (std::size_t i = 0; i < request.items.size(); ++i) {
    auto& item = request.items[i];
    auto [it, fresh] = part_of.try_emplace(item.correlation_id, parts.size());
    if (fresh) parts.emplace_back(item.correlation_id, job{.header_key = request.idempotency_key});
    parts[it->second].second.items.emplace_back(i, std::move(item));
  }
  auto st = std::make_shared<ingest_state>();
  st->results.resize(request.items.size());
  st->parts_left = std::max<std::size_t>(parts.size(), 1);
  st->done = std::move(done);
  if (parts.empty())  // nothing to apply: answer an empty list
    return boost::asio::post(impl_->pool_, [this, st] { impl_->finish_part(*st, std::nullopt, {}); });
  std::vector<user_work> start;
  for (auto& [cid, j] : parts) {
    j.request = st;
    if (auto u = impl_->push(cid, std::move(j))) start.push_back(std::move(*u));
  }
  if (!start.empty()) impl_->make_ready(std::move(start));
}

void aggregator::flush(std::string correlation_id, handler<digest> done) {
  if (!impl_->take_work()) return boost::asio::post(impl_->pool_, [done = std::move(done)] { done(draining_error()); });
  impl_->enqueue(correlation_id, job{.flush_done = std::move(done), .why = completion_reason::flush});
}

void aggregator::get_group(std::string cid, handler<group_view> done) {
  impl_->run_read(std::move(done), [this, cid = std::move(cid)]() -> result<group_view> {
    auto g = impl_->db_.read_group(cid);
    if (!g) return g.err();
    if (!*g) return result<group_view>(errc::not_found, "no open group for " + cid);
    return group_view{impl_->summarize(**g), std::move((*g)->notifications)};
  });
}

void aggregator::list_groups(std::string after, std::size_t limit, handler<std::vector<group_summary>> done) {
  impl_->run_read(std::move(done), [this, after = std::move(after), limit]() -> result<std::vector<group_summary>> {
    auto groups = impl_->db_.list_groups(after, limit);
    if (!groups) return groups.err();
    std::vector<group_summary> out;
    out.reserve(groups->size());
    for (const auto& g : *groups) out.push_back(impl_->summarize(g));
    return out;
  });
}

void aggregator::get_digest(std::string id, handler<stored_digest> done) {
  impl_->run_read(std::move(done), [this, id = std::move(id)]() -> result<stored_digest> {
    auto d = impl_->db_.read_digest(id);
    if (!d) return d.err();
    if (!*d) return result<stored_digest>(errc::not_found, "no digest with Id " + id);
    return impl_->with_deliveries(std::move(**d));
  });
}

void aggregator::list_digests(std::optional<std::string> email, std::string after, std::size_t limit,
                              handler<std::vector<stored_digest>> done) {
  impl_->run_read(
      std::move(done),
      [this, email = std::move(email), after = std::move(after), limit]() -> result<std::vector<stored_digest>> {
        auto list = impl_->db_.list_digests(email, after, limit);
        if (!list) return list.err();
        std::vector<stored_digest> out;
        out.reserve(list->size());
        for (auto& d : *list) {
          auto sd = impl_->with_deliveries(std::move(d));
          if (!sd) return sd.err();
          out.push_back(std::move(*sd));
        }
        return out;
      });
}

void aggregator::redeliver(std::string id, handler<std::size_t> done) {
  impl_->run_read(std::move(done), [this, id = std::move(id)]() -> result<std::size_t> {
    auto sinks = impl_->db_.redeliver(id, impl_->clock_.now());
    if (!sinks) return sinks.err();
    if (sinks->empty())
      return result<std::size_t>(errc::conflict, "digest " + id + " has no dead-lettered delivery to send again");
    for (const auto& sink : *sinks) impl_->metrics_.outbox_depth.with({sink}).add(1);
    if (impl_->options_.on_queued) impl_->options_.on_queued(queued_digests{id, {}});
    return sinks->size();
  });
}

void aggregator::expire_due(handler<std::size_t> done) {
  boost::asio::post(impl_->pool_, [this, done = std::move(done)]() mutable {
    impl_->expire_due_now(impl_->clock_.now(), std::move(done));
  });
}

void aggregator::forget_expired(handler<std::size_t> done) {
  boost::asio::post(impl_->pool_,
                    [this, done = std::move(done)]() mutable { impl_->forget_expired_now(std::move(done)); });
}

void aggregator::checkpoint(handler<std::string> done) {
  impl_->run_read(std::move(done), [this]() -> result<std::string> {
    if (impl_->options_.checkpoint_dir.empty())
      return result<std::string>(errc::forbidden, "checkpoints are not configured");
    // 2026-11-22T22-30-05.123456789Z: sortable, unique, and no ':' for tools that mind.
    auto name = format_rfc3339(impl_->clock_.now());
    std::replace(name.begin(), name.end(), ':', '-');
    const auto path = impl_->options_.checkpoint_dir + "/" + name;
    auto r = impl_->db_.checkpoint_to(path);
    if (!r) return r.err();
    return path;
  });
}

void aggregator::check_ready(handler<ok_t> done) {
  impl_->run_read(std::move(done), [this] { return impl_->db_.probe_write(); });
}

std::size_t aggregator::active_strands() const {
  std::size_t n = 0;
  for (auto& sh : impl_->shards_) {
    std::lock_guard lock(sh.mutex);
    n += sh.users.size();
  }
  return n;
}

void aggregator::drain() {
  {
    std::lock_guard lock(impl_->drain_mutex_);
    impl_->draining_ = true;
  }
  boost::asio::post(impl_->timer_strand_, [this] {
    impl_->prune_timer_.cancel();
    impl_->timeout_timer_.cancel();
  });
  std::unique_lock lock(impl_->drain_mutex_);
  impl_->drain_cv_.wait(lock, [this] { return impl_->outstanding_ == 0; });
}

}  // namespace rollup
