// The Prometheus text the metrics room renders, checked to the character.
#include "rollupd/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace rollup::metrics {
namespace {

TEST(metrics_family, CounterSeriesAreSortedByLabelsAndEscaped) {
  family<counter> f{"x_total", "Things.\nSecond line with \\.", {"route", "status"}};
  f.with({"/b", "200"}).inc(2);
  f.with({"/a \"q\"\n", "404"}).inc();
  std::string out;
  f.render(out);
  EXPECT_EQ(out,
            "# HELP x_total Things.\\nSecond line with \\\\.\n"
            "# TYPE x_total counter\n"
            "x_total{route=\"/a \\\"q\\\"\\n\",status=\"404\"} 1\n"
            "x_total{route=\"/b\",status=\"200\"} 2\n");
}

TEST(metrics_family, WithReturnsTheSameSeriesForTheSameLabels) {
  family<gauge> f{"g", "A gauge.", {"sink"}};
  auto& a = f.with({"log"});
  a.set(5);
  f.with({"log"}).add(-2);
  EXPECT_EQ(&a, &f.with({"log"}));
  EXPECT_EQ(a.value(), 3);
}

TEST(metrics_family, GaugeWithoutLabelsAndNegativeValue) {
  family<gauge> f{"g", "A gauge.", {}};
  f.with({}).add(-1);
  std::string out;
  f.render(out);
  EXPECT_EQ(out, "# HELP g A gauge.\n# TYPE g gauge\ng -1\n");
}

TEST(metrics_family, FamilyWithoutSeriesRendersOnlyItsHeader) {
  family<counter> f{"c_total", "Nothing yet.", {"reason"}};
  std::string out;
  f.render(out);
  EXPECT_EQ(out, "# HELP c_total Nothing yet.\n# TYPE c_total counter\n");
}

TEST(metrics_histogram, BucketsAreCumulativeAndUpperBoundsInclusive) {
  family<histogram> f{"h_seconds", "Durations.", {"route"}, {0.5, 0.1, 1}};  // sorted on construction
  auto& h = f.with({"/r"});
  h.observe(0.1);   // le 0.1 (inclusive)
  h.observe(0.2);   // le 0.5
  h.observe(1.0);   // le 1
  h.observe(30.0);  // +Inf only
  std::string out;
  f.render(out);
  EXPECT_EQ(out,
            "# HELP h_seconds Durations.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{route=\"/r\",le=\"0.1\"} 1\n"
            "h_seconds_bucket{route=\"/r\",le=\"0.5\"} 2\n"
            "h_seconds_bucket{route=\"/r\",le=\"1\"} 3\n"
            "h_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"
            "h_seconds_sum{route=\"/r\"} 31.3\n"
            "h_seconds_count{route=\"/r\"} 4\n");
}

TEST(metrics_histogram, WithoutLabelsTheBucketCarriesOnlyLe) {
  family<histogram> f{"h", "H.", {}, {1}};
  f.with({}).observe(2);
  std::string out;
  f.render(out);
  EXPECT_NE(out.find("h_bucket{le=\"1\"} 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("h_sum 2\nh_count 1\n"), std::string::npos) << out;
}

TEST(metrics_registry, RendersEveryFamilyOnceWithUnlabelledSeriesAtZero) {
  registry r;
  r.digests_emitted.with({"count"}).inc();
  const auto text = r.render();
  for (const char* name :
       {"rollupd_http_requests_total", "rollupd_http_request_duration_seconds", "rollupd_http_connections",
        "rollupd_notifications_accepted_total", "rollupd_notifications_duplicate_total",
        "rollupd_digests_emitted_total", "rollupd_open_groups", "rollupd_outbox_depth", "rollupd_deliveries_total",
        "rollupd_delivery_latency_seconds", "rollupd_build_info"}) {
    const auto type_line = std::string("# TYPE ") + name + " ";
    const auto at = text.find(type_line);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_EQ(text.find(type_line, at + 1), std::string::npos) << name << " twice";
  }
  EXPECT_NE(text.find("\nrollupd_open_groups 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nrollupd_notifications_accepted_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nrollupd_digests_emitted_total{reason=\"count\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace rollup::metrics
