// Micro benchmarks of the storage room on a real RocksDB (a fresh temp dir,
// durability "wal"): what one load-strategy-save cycle costs with no HTTP and
// no thread hand-off, on one thread and from several threads at once. Beside
// the daemon's CPU per request (tests/bench/run's "CPU us" column) the cheaper
// of the two is the floor of the design: every request pays at least this
// much.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rollupd/core/decode.hpp"
#include "rollupd/core/strategy.hpp"
#include "rollupd/storage/database.hpp"
#include "support/numbered_id.hpp"
#include "support/temp_dir.hpp"

namespace rollup {
namespace {

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

// The smallest durable thing: one key written through the write-ahead log.
void BM_StorageOneWrite(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  for (auto _ : st)
    if (!db->probe_write()) st.SkipWithError("write failed");
}
BENCHMARK(BM_StorageOneWrite);

// One notification's cycle as the aggregator runs it (load the group,
// strategy, save the group and its deadline, queue a digest when one
// completes, commit) for 10,000 users uniformly with 5% HIGH, as scenario 1.
// `thread` keeps the users and digest Ids of concurrent callers apart, as
// the aggregator's strands do, so the transactions take no row locks.
class cycle_runner {
 public:
  cycle_runner(storage::database& db, int thread) : db_(db), random_(42 + thread), thread_(thread) {}

  bool run() {
    auto txn = db_.begin({.row_locks = false});
    return run_in(*txn) && static_cast<bool>(txn->commit());
  }

  // The cycle without its commit, for a transaction shared with others.
  bool run_in(storage::transaction& txn) {
    const auto user = "u" + std::to_string(thread_) + "-" + std::to_string(random_() % 10000) + "@example.com";
    notification n;
    n.email = user;
    n.correlation_id = user;
    n.text = "Your password was changed";
    n.time = t0;
    n.prio = random_() % 100 < 5 ? priority::high : priority::low;
    char id[33];
    snprintf(id, sizeof id, "%08x%024llx", static_cast<unsigned>(thread_), static_cast<unsigned long long>(++ids_));
    auto loaded = txn.load_group(user);
    if (!loaded) return false;
    auto out = strategy(event{std::move(n), t0, id}, std::move(*loaded), rules_);
    if (out.state && !out.state->due_at) out.state->due_at = out.state->first_received_at + std::chrono::minutes{10};
    const bool saved =
        out.state ? static_cast<bool>(txn.save_group(*out.state)) : static_cast<bool>(txn.delete_group(user));
    return saved && (!out.emitted || static_cast<bool>(txn.put_digest(*out.emitted, sinks_)));
  }

 private:
  storage::database& db_;
  const policy rules_;
  const std::vector<std::string> sinks_{"log"};
  std::mt19937_64 random_;
  int thread_;
  std::uint64_t ids_ = 0;
};

void BM_StorageCycle(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  cycle_runner cycle(*db, 0);
  for (auto _ : st)
    if (!cycle.run()) {
      st.SkipWithError("cycle failed");
      break;
    }
}
BENCHMARK(BM_StorageCycle);

// N users' cycles in one transaction, as the aggregator's workers run the
// users waiting in line under load. Time and CPU are per cycle (one
// notification), so the figure compares with BM_StorageCycle's.
void BM_StorageCycleBatched(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  cycle_runner cycle(*db, 0);
  const auto n = static_cast<std::size_t>(st.range(0));
  for (auto _ : st) {
    auto txn = db->begin({.row_locks = false});
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; ++i) ok = cycle.run_in(*txn);
    if (!ok || !txn->commit()) {
      st.SkipWithError("cycle failed");
      break;
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}
BENCHMARK(BM_StorageCycleBatched)->Arg(8)->Arg(64);

// What delivering the digests of those cycles costs the dispatcher's storage
// side, per cycle (SPEC §5: every digest leaves the outbox only once its
// sink confirmed it). After each transaction of N cycles, as in
// BM_StorageCycleBatched/N (run with the timer paused), a pass reads the
// new outbox entries as the dispatcher's passes read them and retires them
// together, delivered at their first attempt. The sink's own work is not
// counted. The harness adds this to the cycle its skeleton burns.
void BM_DeliveryPerCycle(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  cycle_runner cycle(*db, 0);
  const auto cycles = static_cast<std::size_t>(st.range(0));
  std::string from;  // where the next pass reads from, as the dispatcher's lane keeps it
  std::vector<storage::outbox_entry> entries;
  std::size_t digests = 0;
  for (auto _ : st) {
    st.PauseTiming();
    auto txn = db->begin({.row_locks = false});
    bool ok = true;
    for (std::size_t i = 0; i < cycles && ok; ++i) ok = cycle.run_in(*txn);
    ok = ok && static_cast<bool>(txn->commit());
    st.ResumeTiming();
    entries.clear();
    ok = ok && static_cast<bool>(db->visit_outbox("log", from, 10000, [&entries](storage::outbox_entry e) {
           ++e.attempts;  // the attempt the dispatcher makes
           entries.push_back(std::move(e));
           return true;
         }));
    if (ok && !entries.empty()) {
      ok = static_cast<bool>(db->retire(entries, t0));
      from = entries.back().digest_id;
      digests += entries.size();
    }
    if (!ok) {
      st.SkipWithError("cycle or delivery failed");
      break;
    }
  }
  const auto all = static_cast<double>(st.iterations() * cycles);
  st.SetItemsProcessed(static_cast<std::int64_t>(all));
  st.counters["digests_per_cycle"] = all > 0 ? static_cast<double>(digests) / all : 0;
}
BENCHMARK(BM_DeliveryPerCycle)->Arg(64);

// The newest page of 100 digests of one user who has N (GET
// /v1/digests?email=&limit=100): the index scan and the 100 digests read.
// N = 100 is the baseline: a page's cost should not grow with N.
void BM_UserDigestsPage(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  const auto n = static_cast<std::uint64_t>(st.range(0));
  notification x;
  x.email = x.correlation_id = "hot@example.com";
  x.text = "Your password was changed";
  x.time = t0;
  for (std::uint64_t made = 0; made < n;) {
    auto txn = db->begin({.row_locks = false});
    for (const auto stop = std::min(n, made + 1000); made < stop; ++made) {
      group g{x.correlation_id, t0, {x}, std::nullopt};
      if (!txn->put_digest(complete(std::move(g), completion_reason::flush, testing::numbered_id(made), t0, false),
                           {"log"})) {
        st.SkipWithError("could not store a digest");
        return;
      }
    }
    if (!txn->commit()) {
      st.SkipWithError("could not store the digests");
      return;
    }
  }
  for (auto _ : st) {
    auto page = db->list_digests(x.correlation_id, "", 100);
    if (!page || page->size() != std::min<std::uint64_t>(n, 100)) {
      st.SkipWithError("the page is wrong");
      break;
    }
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(BM_UserDigestsPage)->Arg(100)->Arg(10000);

// The same cycles from several threads on one database, as the storage
// threads run them: RocksDB then writes the WAL records of concurrent commits
// together (a write group), and the threads wait on each other. The CPU
// column is the CPU of all the threads per cycle, so it says whether sharing
// makes a cycle cheaper than BM_StorageCycle's.
storage::database* shared_db = nullptr;

void BM_StorageCycleShared(benchmark::State& st) {
  std::unique_ptr<testing::temp_dir> dir;
  std::unique_ptr<storage::database> db;
  if (st.thread_index() == 0) {  // the others wait for it at the loop's start
    dir = std::make_unique<testing::temp_dir>();
    db = storage::database::open({dir->str() + "/db", false, std::chrono::milliseconds{2000}});
    shared_db = db.get();
  }
  std::optional<cycle_runner> cycle;
  for (auto _ : st) {
    if (!cycle) cycle.emplace(*shared_db, st.thread_index());
    if (!cycle->run()) {
      st.SkipWithError("cycle failed");
      break;
    }
  }
  // Every thread has left the loop before any returns from it.
  if (st.thread_index() == 0) shared_db = nullptr;
}
BENCHMARK(BM_StorageCycleShared)->Threads(2)->Threads(8);

}  // namespace
}  // namespace rollup
