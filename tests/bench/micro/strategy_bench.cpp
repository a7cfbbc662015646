// Micro benchmarks of the strategy (include/rollupd/core/strategy.hpp): the
// pure decision of every load-strategy-save cycle. strategy() takes its event
// and state by value, so each iteration copies a prepared event and state
// into the call, as a caller that keeps them would; the copies are included.

#include <benchmark/benchmark.h>

#include <chrono>
#include <optional>
#include <string>

#include "rollupd/core/decode.hpp"
#include "rollupd/core/strategy.hpp"

namespace rollup {
namespace {

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

event make_event(priority prio) {
  notification n;
  n.email = "u1234@example.com";
  n.correlation_id = "u1234@example.com";
  n.text = "n";
  n.time = t0;
  n.prio = prio;
  return event{std::move(n), t0, "01a20529014c000025728dc3e31270bd"};
}

// The open group after `n` LOW notifications (none when n == 0).
std::optional<group> state_of(int n, const policy& p) {
  std::optional<group> s;
  for (int i = 0; i < n; ++i) s = strategy(make_event(priority::low), std::move(s), p).state;
  return s;
}

// range(0): notifications already open; range(1): the new one's priority.
//   0, LOW   opens a group            1, LOW   appends (no digest)
//   2, LOW   completes by count (3)   1, HIGH  completes by priority
void BM_Strategy(benchmark::State& st) {
  const policy p;
  const auto ev = make_event(static_cast<priority>(st.range(1)));
  const auto before = state_of(static_cast<int>(st.range(0)), p);
  for (auto _ : st) benchmark::DoNotOptimize(strategy(ev, before, p));
}
BENCHMARK(BM_Strategy)
    ->ArgNames({"open", "prio"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({1, 2});

// The copies alone, to subtract from BM_Strategy for the decision's own cost
// (PauseTiming around the copies would cost more than the decision).
void BM_CopyEventAndState(benchmark::State& st) {
  const policy p;
  const auto ev = make_event(priority::low);
  const auto before = state_of(static_cast<int>(st.range(0)), p);
  for (auto _ : st) {
    auto e = ev;
    auto s = before;
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CopyEventAndState)->ArgName("open")->Arg(0)->Arg(1)->Arg(2);

}  // namespace
}  // namespace rollup
