#pragma once
// Every metric rollupd exports on GET /metrics (SPEC §4.2), in one place,
// and their rendering in the Prometheus text format (version 0.0.4).
//
// The metrics room sits below every other: it holds numbers and knows
// nothing of HTTP, storage or delivery. The rooms that do the work update
// the series here; the http room renders them. Updates are lock-free
// atomics; finding a labelled series takes a short lock.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rollup::metrics {

class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations counted into buckets with fixed upper bounds (seconds here).
class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (= count)
    double sum = 0;
  };
  snapshot read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// A metric name with its series, one per combination of label values.
class family_base {
 public:
  family_base(std::string name, std::string help, std::vector<std::string> labels);
  virtual ~family_base() = default;
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  // # HELP, # TYPE and every series, in label order.
  virtual void render(std::string& out) const = 0;

 protected:
  // `{a="x",b="y"}` (empty without labels), values escaped.
  std::string label_text(const std::vector<std::string>& values) const;
  void header(std::string& out, std::string_view type) const;

  const std::string name_;

 private:
  const std::string help_;
  const std::vector<std::string> labels_;
};

// Orders series by their label values, and finds them by string_views
// without copying those into strings first (with() runs for every answer).
struct label_order {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

template <class Metric>
class family final : public family_base {
 public:
  family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> buckets = {})
      : family_base(std::move(name), std::move(help), std::move(labels)), buckets_(std::move(buckets)) {}

  // The series for these label values (as many as there are labels, in
  // order), created on first use. The reference stays valid for the
  // family's life, so a caller may keep it.
  Metric& with(std::initializer_list<std::string_view> values);

  void render(std::string& out) const override;

 private:
  const std::vector<double> buckets_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, label_order> series_;
};

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

// Bucket bounds, in seconds.
extern const std::vector<double> request_buckets;   // 0.5 ms … 10 s
extern const std::vector<double> delivery_buckets;  // 10 ms … 1 day

struct registry {
  registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // http: every answer written, also those the session gives itself (413,
  // 431, 400 malformed, 503 at the connection cap). `route` is the route's
  // pattern, e.g. "/v1/aggregations/{email}", or "unmatched".
  family<counter> http_requests{"rollupd_http_requests_total",
                                "HTTP requests answered, by method, route and status code.",
                                {"method", "route", "status"}};
  family<histogram> http_request_duration{"rollupd_http_request_duration_seconds",
                                          "Time from a request being read to its answer being sent, by route.",
                                          {"route"},
                                          request_buckets};
  family<gauge> http_connections{"rollupd_http_connections", "Open HTTP connections.", {}};

  // service: counted after the transaction that applied them committed.
  family<counter> notifications_accepted{
      "rollupd_notifications_accepted_total", "Notifications applied to a group (duplicates not counted).", {}};
  family<counter> notifications_duplicate{
      "rollupd_notifications_duplicate_total",
      "Notifications answered as duplicates of an Id or Idempotency-Key seen before, and not applied.",
      {}};
  family<counter> digests_emitted{
      "rollupd_digests_emitted_total", "Digests emitted, by reason: priority, count, timeout or flush.", {"reason"}};
  family<gauge> open_groups{"rollupd_open_groups", "Groups waiting to complete.", {}};

  // delivery
  family<gauge> outbox_depth{
      "rollupd_outbox_depth", "Digests queued for a sink and not yet delivered or dead-lettered.", {"sink"}};
  family<counter> deliveries{"rollupd_deliveries_total",
                             "Delivery attempts by sink and outcome: delivered, failed (retried later) or "
                             "dead_lettered (out of attempts).",
                             {"sink", "outcome"}};
  family<histogram> delivery_latency{
      "rollupd_delivery_latency_seconds",
      "Time from a group's first notification to its digest's delivery being confirmed, by sink.",
      {"sink"},
      delivery_buckets};

  family<gauge> build_info{"rollupd_build_info", "Always 1; the labels tell the build.", {"version"}};

  // All families, in the Prometheus text format, ready to serve.
  std::string render() const;

 private:
  std::vector<const family_base*> all_;
};

}  // namespace rollup::metrics
