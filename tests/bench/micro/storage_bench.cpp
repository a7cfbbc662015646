// Micro benchmarks of the storage room on a real RocksDB (a fresh temp dir,
// durability "wal"): what one load-strategy-save cycle costs on one thread
// with no HTTP and no thread hand-off. Beside the daemon's CPU per request
// (tests/bench/run's "CPU us" column) this is the floor of the design: every
// request pays at least this much.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>

#include "rollupd/core/decode.hpp"
#include "rollupd/core/strategy.hpp"
#include "rollupd/storage/database.hpp"
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

// One notification's cycle as the aggregator runs it (load the group with a
// lock, strategy, save the group and its deadline, queue a digest when one
// completes, commit) for 10,000 users uniformly with 5% HIGH, as scenario 1.
void BM_StorageCycle(benchmark::State& st) {
  testing::temp_dir dir;
  auto db = storage::database::open({dir.str() + "/db", false, std::chrono::milliseconds{2000}});
  const policy rules;
  const std::vector<std::string> sinks{"log"};
  std::mt19937_64 random(42);
  std::uint64_t ids = 0;
  for (auto _ : st) {
    const auto user = "u" + std::to_string(random() % 10000) + "@example.com";
    notification n;
    n.email = user;
    n.correlation_id = user;
    n.text = "Your password was changed";
    n.time = t0;
    n.prio = random() % 100 < 5 ? priority::high : priority::low;
    char id[33];
    snprintf(id, sizeof id, "%032llx", static_cast<unsigned long long>(++ids));
    auto txn = db->begin();
    auto loaded = txn->load_group(user);
    if (!loaded) {
      st.SkipWithError("load failed");
      break;
    }
    auto out = strategy(event{std::move(n), t0, id}, std::move(*loaded), rules);
    if (out.state && !out.state->due_at) out.state->due_at = out.state->first_received_at + std::chrono::minutes{10};
    const bool saved =
        out.state ? static_cast<bool>(txn->save_group(*out.state)) : static_cast<bool>(txn->delete_group(user));
    const bool queued = !out.emitted || static_cast<bool>(txn->put_digest(*out.emitted, sinks));
    if (!saved || !queued || !txn->commit()) {
      st.SkipWithError("cycle failed");
      break;
    }
  }
}
BENCHMARK(BM_StorageCycle);

}  // namespace
}  // namespace rollup
