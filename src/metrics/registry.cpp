#include "rollupd/metrics/registry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <type_traits>

namespace rollup::metrics {
namespace {

void append_number(std::string& out, double v) {
  if (v == std::numeric_limits<double>::infinity()) {
    out += "+Inf";
    return;
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

template <class Int>
void append_integer(std::string& out, Int v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

// Text-format escaping: label values escape \ " and newline; HELP escapes
// \ and newline.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (const char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

// `{a="x",le="0.5"}`: the series' labels with one more appended.
std::string with_label(const std::string& labels, std::string_view name, std::string_view value) {
  std::string out = labels.empty() ? std::string("{") : labels.substr(0, labels.size() - 1) + ",";
  out.append(name);
  out += "=\"";
  out.append(value);
  out += "\"}";
  return out;
}

}  // namespace

const std::vector<double> request_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> delivery_buckets{0.01, 0.05, 0.1, 0.5,  1,    5,    10,    30,
                                           60,   300,  600, 1800, 3600, 7200, 21600, 86400};

// --- histogram -------------------------------------------------------------

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
  // The first bucket whose upper bound is >= v (Prometheus' "le"); past the
  // last bound, the +Inf bucket.
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// --- families --------------------------------------------------------------

family_base::family_base(std::string name, std::string help, std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}

std::string family_base::label_text(const std::vector<std::string>& values) const {
  if (labels_.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out += ',';
    out += labels_[i];
    out += "=\"";
    append_escaped(out, values.at(i), true);
    out += '"';
  }
  out += '}';
  return out;
}

void family_base::header(std::string& out, std::string_view type) const {
  out += "# HELP " + name_ + ' ';
  append_escaped(out, help_, false);
  out += "\n# TYPE " + name_ + ' ';
  out.append(type);
  out += '\n';
}

template <class Metric>
Metric& family<Metric>::with(std::initializer_list<std::string_view> values) {
  const std::lock_guard lock(mutex_);
  if (const auto it = series_.find(values); it != series_.end()) return *it->second;
  auto& slot = series_[std::vector<std::string>(values.begin(), values.end())];
  if (!slot) {
    if constexpr (std::is_same_v<Metric, histogram>)
      slot = std::make_unique<histogram>(buckets_);
    else
      slot = std::make_unique<Metric>();
  }
  return *slot;
}

template <class Metric>
void family<Metric>::render(std::string& out) const {
  if constexpr (std::is_same_v<Metric, counter>)
    header(out, "counter");
  else if constexpr (std::is_same_v<Metric, gauge>)
    header(out, "gauge");
  else
    header(out, "histogram");
  const std::lock_guard lock(mutex_);
  for (const auto& [values, m] : series_) {
    const auto labels = label_text(values);
    if constexpr (std::is_same_v<Metric, histogram>) {
      const auto s = m->read();
      for (std::size_t i = 0; i <= s.upper_bounds.size(); ++i) {
        std::string le;
        append_number(le, i < s.upper_bounds.size() ? s.upper_bounds[i] : std::numeric_limits<double>::infinity());
        out += name_ + "_bucket" + with_label(labels, "le", le) + ' ';
        append_integer(out, s.cumulative[i]);
        out += '\n';
      }
      out += name_ + "_sum" + labels + ' ';
      append_number(out, s.sum);
      out += '\n' + name_ + "_count" + labels + ' ';
      append_integer(out, s.cumulative.back());
    } else {
      out += name_ + labels + ' ';
      append_integer(out, m->value());
    }
    out += '\n';
  }
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// --- registry --------------------------------------------------------------

registry::registry()
    : all_{&http_requests,
           &http_request_duration,
           &http_connections,
           &notifications_accepted,
           &notifications_duplicate,
           &digests_emitted,
           &open_groups,
           &outbox_depth,
           &deliveries,
           &delivery_latency,
           &build_info} {
  // Series without labels exist from the start, so they show as 0.
  http_connections.with({});
  notifications_accepted.with({});
  notifications_duplicate.with({});
  open_groups.with({});
}

std::string registry::render() const {
  std::string out;
  out.reserve(8192);
  for (const auto* f : all_) f->render(out);
  return out;
}

}  // namespace rollup::metrics
