// Micro benchmarks of the codec (include/rollupd/core/decode.hpp, codec.hpp):
// the work an ingest does per notification outside RocksDB and the network.
//   - JSON text -> validated notification (what POST /notifications does
//     before the service sees it: http::parse_json, then decode_body);
//   - an open group and a digest to their storage bytes and back (what every
//     load-strategy-save cycle does: decode_group, encode_group, and
//     encode_digest when a group completes);
//   - a digest to its wire JSON text (the 202 answer that completes a group).
// Pure CPU, one thread; run by tests/bench/run, or by hand:
//   build/bench/rollupd_micro_bench --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rollupd/core/codec.hpp"
#include "rollupd/core/decode.hpp"
#include "rollupd/core/json_text.hpp"
#include "rollupd/core/strategy.hpp"
#include "rollupd/http/json_parse.hpp"

namespace rollup {
namespace {

using nlohmann::json;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

// The body the load scenarios send (tests/bench/*.lua).
std::string single_body(int user, int prio) {
  return R"({"Email":"u)" + std::to_string(user) + R"(@example.com","Notification":"n","Priority":)" +
         std::to_string(prio) + "}";
}

// The body of the README's quick start: every field given.
const std::string readme_body =
    R"({"Email":"a@example.com","Notification":"test notification","Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0})";

std::string array_body(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) {
    if (i) s += ',';
    s += single_body(i, i % 20 == 0 ? 2 : 0);
  }
  return s + "]";
}

// The daemon's own parse of a request body (http/json_parse.cpp).
json parse(const std::string& text) {
  auto parsed = http::parse_json(text);
  if (parsed.error) std::abort();
  return std::move(parsed.value);
}

notification decoded(const std::string& text) {
  auto r = decode_notification(parse(text), t0);
  if (!r) std::abort();
  return std::move(*r);
}

group group_of(int n) {
  group g;
  g.correlation_id = "u1@example.com";
  g.first_received_at = t0;
  g.due_at = t0 + std::chrono::minutes{10};
  for (int i = 0; i < n; ++i) g.notifications.push_back(decoded(readme_body));
  return g;
}

digest digest_of(int n) {
  digest d;
  d.id = "01a20529014c000025728dc3e31270bd";
  d.email = "a@example.com";
  d.reason = completion_reason::count;
  d.first_received_at = t0;
  d.emitted_at = t0 + std::chrono::seconds{1};
  for (int i = 0; i < n; ++i) d.notifications.push_back(decoded(readme_body));
  return d;
}

void BM_ParseJson_Minimal(benchmark::State& st) {
  const auto text = single_body(1234, 0);
  for (auto _ : st) benchmark::DoNotOptimize(parse(text));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * text.size()));
}
BENCHMARK(BM_ParseJson_Minimal);

void BM_DecodeNotification_Minimal(benchmark::State& st) {
  const auto value = parse(single_body(1234, 0));
  for (auto _ : st) benchmark::DoNotOptimize(decode_notification(value, t0));
}
BENCHMARK(BM_DecodeNotification_Minimal);

void BM_DecodeNotification_Readme(benchmark::State& st) {
  const auto value = parse(readme_body);
  for (auto _ : st) benchmark::DoNotOptimize(decode_notification(value, t0));
}
BENCHMARK(BM_DecodeNotification_Readme);

// Text to validated notification: the whole request-side decode.
void BM_TextToNotification_Minimal(benchmark::State& st) {
  const auto text = single_body(1234, 0);
  for (auto _ : st) benchmark::DoNotOptimize(decode_body(parse(text), t0));
}
BENCHMARK(BM_TextToNotification_Minimal);

void BM_TextToNotification_Readme(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(decode_body(parse(readme_body), t0));
}
BENCHMARK(BM_TextToNotification_Readme);

// Scenario 5's body: an array of 100; items/s is notifications/s.
void BM_TextToNotifications_Array100(benchmark::State& st) {
  const auto text = array_body(100);
  for (auto _ : st) benchmark::DoNotOptimize(decode_body(parse(text), t0));
  st.SetItemsProcessed(st.iterations() * 100);
}
BENCHMARK(BM_TextToNotifications_Array100);

void BM_EncodeGroup(benchmark::State& st) {
  const auto g = group_of(static_cast<int>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(encode_group(g));
}
BENCHMARK(BM_EncodeGroup)->Arg(1)->Arg(2);

void BM_DecodeGroup(benchmark::State& st) {
  const auto bytes = encode_group(group_of(static_cast<int>(st.range(0))));
  for (auto _ : st) benchmark::DoNotOptimize(decode_group(bytes));
}
BENCHMARK(BM_DecodeGroup)->Arg(1)->Arg(2);

void BM_EncodeDigest(benchmark::State& st) {
  const auto d = digest_of(3);
  for (auto _ : st) benchmark::DoNotOptimize(encode_digest(d));
}
BENCHMARK(BM_EncodeDigest);

void BM_DecodeDigest(benchmark::State& st) {
  const auto bytes = encode_digest(digest_of(3));
  for (auto _ : st) benchmark::DoNotOptimize(decode_digest(bytes));
}
BENCHMARK(BM_DecodeDigest);

// The digest as the 202 answer carries it (append_json, src/http/ingest.cpp).
void BM_DigestToWireText(benchmark::State& st) {
  const auto d = digest_of(3);
  for (auto _ : st) {
    std::string out;
    append_json(out, d);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_DigestToWireText);

}  // namespace
}  // namespace rollup
