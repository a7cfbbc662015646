// JSON forms of the core types: the digest of SPEC §3; and the versioned
// storage encodings (SPEC §8): the binary forms written now and the JSON
// forms of earlier releases, still read.

#include "rollupd/core/codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rollupd/core/binary_form.hpp"
#include "rollupd/core/decode.hpp"

namespace rollup {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

::testing::AssertionResult same(const notification& a, const notification& b) {
  auto fail = [](const char* what) { return ::testing::AssertionFailure() << "notifications differ in " << what; };
  if (a.email != b.email) return fail("email");
  if (a.correlation_id != b.correlation_id) return fail("correlation_id");
  if (a.text != b.text) return fail("text");
  if (a.time != b.time) return fail("time");
  if (a.prio != b.prio) return fail("prio");
  if (a.id != b.id) return fail("id");
  if (a.extra != b.extra) return fail("extra") << ": " << a.extra.dump() << " vs " << b.extra.dump();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same(const std::vector<notification>& a, const std::vector<notification>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (auto r = same(a[i], b[i]); !r) return r << " at " << i;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same(const group& a, const group& b) {
  if (a.correlation_id != b.correlation_id) return ::testing::AssertionFailure() << "correlation_id";
  if (a.first_received_at != b.first_received_at) return ::testing::AssertionFailure() << "first_received_at";
  if (a.due_at != b.due_at) return ::testing::AssertionFailure() << "due_at";
  return same(a.notifications, b.notifications);
}

::testing::AssertionResult same(const digest& a, const digest& b) {
  if (a.id != b.id) return ::testing::AssertionFailure() << "id";
  if (a.email != b.email) return ::testing::AssertionFailure() << "email";
  if (a.reason != b.reason) return ::testing::AssertionFailure() << "reason";
  if (a.first_received_at != b.first_received_at) return ::testing::AssertionFailure() << "first_received_at";
  if (a.emitted_at != b.emitted_at) return ::testing::AssertionFailure() << "emitted_at";
  if (a.late != b.late) return ::testing::AssertionFailure() << "late";
  return same(a.notifications, b.notifications);
}

notification decoded(const json& j) {
  auto r = decode_notification(j, t0);
  if (!r) ADD_FAILURE() << "fixture did not decode: " << r.err().detail;
  return std::move(*r);
}

// Three varied notifications for one user, as the decoder produces them.
std::vector<notification> sample_notifications() {
  return {
      decoded(json::parse(R"({"Email":"a@example.com","Notification":"test notification",
                              "Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0})")),
      decoded(json::parse(R"({"email":" A@Example.com ","notification":"line\n\u00e9\u2713 \"q\"",
                              "timestamp":"2019-08-10T17:31:47.123456789+02:00","priority":"Medium",
                              "id":"key-1","Source":"ids","Meta":{"tags":["x",{"y":null}],"n":1.5,"ok":true}})")),
      decoded(json::parse(R"({"EMAIL":"a@EXAMPLE.com","NOTIFICATION":"alarm","PRIORITY":2,
                              "Timestamp":"1969-12-31T23:59:59.5Z","Empty":{},"List":[]})")),
  };
}

group sample_group() { return group{"a@example.com", t0 + 123456789ns, sample_notifications(), t0 + 10min}; }

digest sample_digest(completion_reason why = completion_reason::count, bool late = false) {
  return digest{"01J9Z3K8Q4R5S6T7V8W9X0Y1Z2", "a@example.com", why, t0 + 1ns, t0 + 10min + 5ms, late,
                sample_notifications()};
}

// The JSON storage forms that earlier releases wrote, which decode_group and
// decode_digest still read (written here as those releases wrote them).
json json_form_of(const group& g) {
  json ns = json::array();
  for (const auto& n : g.notifications) ns.push_back(to_json(n));
  json j{{"v", 1}, {"cid", g.correlation_id}, {"first", to_nanos(g.first_received_at)}, {"n", ns}};
  if (g.due_at) j["due"] = to_nanos(*g.due_at);
  return j;
}

json json_form_of(const digest& d) { return json{{"v", 1}, {"digest", to_json(d)}}; }

// ------------------------------------------------------ notification JSON

TEST(CodecNotification, NormalisedForm) {
  const auto n = decoded(json::parse(R"({"email":" A@Example.com ","NOTIFICATION":"n",
      "timestamp":"2019-08-10T17:31:47.808596+02:00","priority":"high",
      "Source":"ids","Meta":{"a":[1,{"b":null}]}})"));
  const json expected = json::parse(R"({"Email":"A@Example.com","Notification":"n",
      "Timestamp":"2019-08-10T15:31:47.808596Z","Priority":2,
      "Source":"ids","Meta":{"a":[1,{"b":null}]}})");
  EXPECT_EQ(to_json(n), expected);
}

TEST(CodecNotification, PriorityIsAnInteger) {
  for (const auto& [in, out] : std::vector<std::pair<json, int>>{{"LOW", 0}, {"medium", 1}, {"High", 2}, {0, 0}, {2, 2}}) {
    const auto j = to_json(decoded(json{{"Email", "a@example.com"}, {"Notification", "n"}, {"Priority", in}}));
    ASSERT_TRUE(j.at("Priority").is_number_integer()) << in.dump();
    EXPECT_EQ(j.at("Priority").get<int>(), out) << in.dump();
  }
}

TEST(CodecNotification, DefaultPriorityAndTimestampAreWritten) {
  const auto j = to_json(decoded(json{{"Email", "a@example.com"}, {"Notification", "n"}}));
  EXPECT_EQ(j.at("Priority"), 0);
  EXPECT_EQ(j.at("Timestamp"), "2026-01-01T00:00:00Z");
}

TEST(CodecNotification, IdOnlyWhenGiven) {
  const auto without = to_json(decoded(json{{"Email", "a@example.com"}, {"Notification", "n"}}));
  EXPECT_FALSE(without.contains("Id"));
  EXPECT_EQ(without.size(), 4U);
  const auto with = to_json(decoded(json{{"Email", "a@example.com"}, {"Notification", "n"}, {"id", "k-1"}}));
  EXPECT_EQ(with.at("Id"), "k-1");
  EXPECT_FALSE(with.contains("id"));
  EXPECT_EQ(with.size(), 5U);
}

TEST(CodecNotification, ExtraKeysTravel) {
  const auto j = to_json(decoded(json::parse(
      R"({"Email":"a@example.com","Notification":"n","source":"ids","Nested":{"deep":{"x":[1,2,3]}},"n":null})")));
  EXPECT_EQ(j.at("source"), "ids");
  EXPECT_EQ(j.at("Nested"), json::parse(R"({"deep":{"x":[1,2,3]}})"));
  ASSERT_TRUE(j.contains("n"));
  EXPECT_TRUE(j.at("n").is_null());
}

TEST(CodecNotification, KnownKeysAreWrittenOnlyInTheirCanonicalSpelling) {
  const auto j = to_json(decoded(json::parse(R"({"EMAIL":"a@example.com","notification":"n","PrIoRiTy":1})")));
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"Email", "Notification", "Timestamp", "Priority"}));
}

// ------------------------------------------------------------ digest JSON

TEST(CodecDigest, ShapeOfSpecSection3) {
  const auto d = sample_digest();
  const auto j = to_json(d);
  ASSERT_TRUE(j.is_object());
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"Id", "Email", "Reason", "Count", "FirstReceivedAt", "EmittedAt", "Late",
                                         "Notifications"}));
  EXPECT_EQ(j.at("Id"), "01J9Z3K8Q4R5S6T7V8W9X0Y1Z2");
  EXPECT_EQ(j.at("Email"), "a@example.com");
  EXPECT_EQ(j.at("Reason"), "count");
  ASSERT_TRUE(j.at("Count").is_number_integer());
  EXPECT_EQ(j.at("Count").get<int>(), 3);
  EXPECT_EQ(j.at("FirstReceivedAt"), "2026-01-01T00:00:00.000000001Z");
  EXPECT_EQ(j.at("EmittedAt"), "2026-01-01T00:10:00.005Z");
  ASSERT_TRUE(j.at("Late").is_boolean());
  EXPECT_FALSE(j.at("Late").get<bool>());
  ASSERT_TRUE(j.at("Notifications").is_array());
  ASSERT_EQ(j.at("Notifications").size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(j.at("Notifications")[i], to_json(d.notifications[i])) << i;
}

TEST(CodecDigest, NotificationsInArrivalOrderAndNormalised) {
  const auto j = to_json(sample_digest());
  const auto& ns = j.at("Notifications");
  EXPECT_EQ(ns[0].at("Notification"), "test notification");
  EXPECT_EQ(ns[1].at("Email"), "A@Example.com");
  EXPECT_EQ(ns[1].at("Timestamp"), "2019-08-10T15:31:47.123456789Z");
  EXPECT_EQ(ns[1].at("Priority"), 1);
  EXPECT_EQ(ns[1].at("Id"), "key-1");
  EXPECT_EQ(ns[1].at("Source"), "ids");
  EXPECT_EQ(ns[2].at("Notification"), "alarm");
  EXPECT_EQ(ns[2].at("Priority"), 2);
  EXPECT_EQ(ns[2].at("Timestamp"), "1969-12-31T23:59:59.5Z");
  EXPECT_FALSE(ns[0].contains("Id"));
}

TEST(CodecDigest, ReasonsAndLate) {
  for (const auto& [why, name] : std::vector<std::pair<completion_reason, std::string>>{
           {completion_reason::priority, "priority"},
           {completion_reason::count, "count"},
           {completion_reason::timeout, "timeout"},
           {completion_reason::flush, "flush"}}) {
    EXPECT_EQ(to_json(sample_digest(why)).at("Reason"), name);
  }
  EXPECT_EQ(to_json(sample_digest(completion_reason::timeout, true)).at("Late"), true);
}

TEST(CodecDigest, CountFollowsTheNotifications) {
  auto d = sample_digest();
  d.notifications.resize(1);
  EXPECT_EQ(to_json(d).at("Count"), 1);
}

TEST(CodecDigest, TimesAreUtc) {
  auto d = sample_digest();
  d.first_received_at = *parse_rfc3339("2026-01-01T02:00:00+02:00");
  d.emitted_at = *parse_rfc3339("2025-12-31T19:30:00-05:30");
  const auto j = to_json(d);
  EXPECT_EQ(j.at("FirstReceivedAt"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(j.at("EmittedAt"), "2026-01-01T01:00:00Z");
}

// --------------------------------------------------------- storage: group

TEST(CodecGroupStorage, RoundTripIsEqual) {
  const auto g = sample_group();
  const auto bytes = encode_group(g);
  const auto back = decode_group(bytes);
  ASSERT_TRUE(back.has_value()) << bytes;
  EXPECT_TRUE(same(*back, g));
  EXPECT_EQ(encode_group(*back), bytes);
}

TEST(CodecGroupStorage, RoundTripOfOneAndOfEmptyExtras) {
  const group g{"b@example.com", t0, {decoded(json{{"Email", "b@example.com"}, {"Notification", "n"}})}, std::nullopt};
  const auto back = decode_group(encode_group(g));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(*back, g));
  EXPECT_TRUE(back->notifications[0].extra.is_object());
}

TEST(CodecGroupStorage, IsBinaryAndStartsWithItsMarker) {
  const auto bytes = encode_group(sample_group());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.front(), binary::group_v1);
  EXPECT_EQ(storage_format_version, 1);
}

TEST(CodecGroupStorage, ReadsTheJsonFormOfEarlierReleases) {
  for (auto g : {sample_group(), group{"b@example.com", t0, {}, std::nullopt}}) {
    const auto back = decode_group(json_form_of(g).dump());
    ASSERT_TRUE(back);
    EXPECT_TRUE(same(*back, g));
  }
}

TEST(CodecGroupStorage, KeepsNanosecondsAndExtremeTimes) {
  auto g = sample_group();
  for (const std::int64_t ns : {std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::int64_t>::min()}) {
    g.first_received_at = from_nanos(ns);
    g.notifications[0].time = from_nanos(ns);
    const auto back = decode_group(encode_group(g));
    ASSERT_TRUE(back) << ns;
    EXPECT_TRUE(same(*back, g)) << ns;
  }
}

// A valid JSON form of an earlier release, changed by `edit`.
std::string edited_group(const std::function<void(json&)>& edit) {
  auto j = json_form_of(sample_group());
  edit(j);
  return j.dump();
}

void expect_group_rejected(const std::string& bytes) {
  std::optional<group> g;
  EXPECT_NO_THROW(g = decode_group(bytes)) << bytes;
  EXPECT_FALSE(g.has_value()) << bytes;
}

TEST(CodecGroupStorage, RejectsGarbage) {
  for (const char* bytes : {"", " ", "garbage", "{", "{\"v\":1", "null", "[]", "1", "\"v\"", "{}", "true",
                            "\xFF\xFE", "[{\"v\":1}]"}) {
    expect_group_rejected(bytes);
  }
}

TEST(CodecGroupStorage, RejectsEveryTruncationAndTrailingBytes) {
  for (const auto& bytes : {encode_group(sample_group()), json_form_of(sample_group()).dump()}) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      std::optional<group> g;
      EXPECT_NO_THROW(g = decode_group(std::string_view(bytes).substr(0, n))) << n;
      EXPECT_FALSE(g.has_value()) << n;
    }
  }
  expect_group_rejected(encode_group(sample_group()) + "x");
}

// A binary group of one notification, written field by field, with one
// field replaced through the hooks.
struct group_fields {
  std::uint8_t has_due = 1, prio = 2, has_id = 1;
  std::uint32_t count = 1;
  std::string email = "a@example.com", extra = R"({"Source":"ids"})";
};

std::string binary_group(const group_fields& f) {
  binary::writer w(binary::group_v1);
  w.str("a@example.com");
  w.i64(5);
  w.u8(f.has_due);
  if (f.has_due == 1) w.i64(7);
  w.u32(f.count);
  w.str(f.email);
  w.str("text");
  w.i64(9);
  w.u8(f.prio);
  w.u8(f.has_id);
  if (f.has_id == 1) w.str("key");
  w.str(f.extra);
  return std::move(w).take();
}

TEST(CodecGroupStorage, ReadsEachBinaryFieldAndRejectsBadOnes) {
  const auto g = decode_group(binary_group({}));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->correlation_id, "a@example.com");
  EXPECT_EQ(g->first_received_at, from_nanos(5));
  EXPECT_EQ(g->due_at, from_nanos(7));
  ASSERT_EQ(g->notifications.size(), 1U);
  const auto& n = g->notifications[0];
  EXPECT_EQ(n.text, "text");
  EXPECT_EQ(n.time, from_nanos(9));
  EXPECT_EQ(n.prio, priority::high);
  EXPECT_EQ(n.id, "key");
  EXPECT_EQ(n.extra, json({{"Source", "ids"}}));
  EXPECT_TRUE(decode_group(binary_group({.has_due = 0, .has_id = 0, .extra = ""})));

  for (const auto& bad : {group_fields{.has_due = 2}, group_fields{.prio = 3}, group_fields{.has_id = 2},
                          group_fields{.count = 2}, group_fields{.count = 0xFFFFFFFF},
                          group_fields{.email = "no-at-sign"}, group_fields{.extra = "[]"},
                          group_fields{.extra = "{"}}) {
    SCOPED_TRACE(binary_group(bad));
    expect_group_rejected(binary_group(bad));
  }
  auto wrong_marker = binary_group({});
  wrong_marker[0] = binary::digest_v1;
  expect_group_rejected(wrong_marker);
}

TEST(CodecGroupStorage, RejectsWrongVersion) {
  for (const json& v : {json(0), json(2), json(-1), json("1"), json(1.5), json(nullptr), json(true),
                        json::array({1}), json{{"v", 1}}}) {
    expect_group_rejected(edited_group([&](json& j) { j["v"] = v; }));
  }
  expect_group_rejected(edited_group([](json& j) { j.erase("v"); }));
}

TEST(CodecGroupStorage, RejectsWrongTypes) {
  const std::vector<std::function<void(json&)>> edits = {
      [](json& j) { j.erase("cid"); },
      [](json& j) { j["cid"] = 5; },
      [](json& j) { j.erase("first"); },
      [](json& j) { j["first"] = "2026-01-01T00:00:00Z"; },
      [](json& j) { j["first"] = 1.5; },
      [](json& j) { j.erase("n"); },
      [](json& j) { j["n"] = json::object(); },
      [](json& j) { j["n"] = "[]"; },
      [](json& j) { j["n"][1] = 5; },
      [](json& j) { j["n"][1] = json::array(); },
      [](json& j) { j["n"][0].erase("Email"); },
      [](json& j) { j["n"][0]["Email"] = 5; },
      [](json& j) { j["n"][0]["Email"] = "no-at-sign"; },
      [](json& j) { j["n"][0].erase("Notification"); },
      [](json& j) { j["n"][0]["Notification"] = 5; },
      [](json& j) { j["n"][0].erase("Timestamp"); },
      [](json& j) { j["n"][0]["Timestamp"] = "yesterday"; },
      [](json& j) { j["n"][0]["Timestamp"] = 1565451107; },
      [](json& j) { j["n"][0].erase("Priority"); },
      [](json& j) { j["n"][0]["Priority"] = 7; },
      [](json& j) { j["n"][0]["Priority"] = -1; },
      [](json& j) { j["n"][0]["Priority"] = 4294967296LL; },
      [](json& j) { j["n"][0]["Priority"] = "HIGH"; },
      [](json& j) { j["n"][0]["Priority"] = 1.5; },
      [](json& j) { j["n"][1]["Id"] = 5; },
      [](json& j) { j["n"][1]["Id"] = nullptr; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(i);
    expect_group_rejected(edited_group(edits[i]));
  }
}

TEST(CodecGroupStorage, EmptyNotificationListIsReadable) {
  const group g{"a@example.com", t0, {}, std::nullopt};
  const auto back = decode_group(encode_group(g));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(*back, g));
}

// -------------------------------------------------------- storage: digest

TEST(CodecDigestStorage, RoundTripIsEqual) {
  for (const auto why :
       {completion_reason::priority, completion_reason::count, completion_reason::timeout, completion_reason::flush}) {
    for (const bool late : {false, true}) {
      const auto d = sample_digest(why, late);
      const auto bytes = encode_digest(d);
      const auto back = decode_digest(bytes);
      ASSERT_TRUE(back.has_value()) << bytes;
      EXPECT_TRUE(same(*back, d)) << bytes;
      EXPECT_EQ(encode_digest(*back), bytes);
    }
  }
}

TEST(CodecDigestStorage, IsBinaryAndStartsWithItsMarker) {
  const auto bytes = encode_digest(sample_digest());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.front(), binary::digest_v1);
}

TEST(CodecDigestStorage, ReadsTheJsonFormOfEarlierReleases) {
  for (const bool late : {false, true}) {
    const auto d = sample_digest(completion_reason::timeout, late);
    const auto back = decode_digest(json_form_of(d).dump());
    ASSERT_TRUE(back);
    EXPECT_TRUE(same(*back, d));
  }
}

// A valid JSON form of an earlier release, changed by `edit`.
std::string edited_digest(const std::function<void(json&)>& edit) {
  auto j = json_form_of(sample_digest());
  edit(j);
  return j.dump();
}

void expect_digest_rejected(const std::string& bytes) {
  std::optional<digest> d;
  EXPECT_NO_THROW(d = decode_digest(bytes)) << bytes;
  EXPECT_FALSE(d.has_value()) << bytes;
}

TEST(CodecDigestStorage, RejectsGarbage) {
  for (const char* bytes : {"", "garbage", "{", "null", "[]", "{}", "7", "\xFF"}) expect_digest_rejected(bytes);
  // a group is not a digest
  expect_digest_rejected(encode_group(sample_group()));
  expect_group_rejected(encode_digest(sample_digest()));
}

TEST(CodecDigestStorage, RejectsBadBinaryReasonAndLate) {
  const auto d = sample_digest();
  for (const auto& [reason, late] : std::vector<std::pair<std::uint8_t, std::uint8_t>>{{4, 0}, {255, 0}, {0, 2}}) {
    binary::writer w(binary::digest_v1);
    w.str(d.id);
    w.str(d.email);
    w.u8(reason);
    w.i64(1);
    w.i64(2);
    w.u8(late);
    w.u32(0);
    expect_digest_rejected(std::move(w).take());
  }
}

TEST(CodecDigestStorage, RejectsEveryTruncationAndTrailingBytes) {
  for (const auto& bytes : {encode_digest(sample_digest()), json_form_of(sample_digest()).dump()}) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      std::optional<digest> d;
      EXPECT_NO_THROW(d = decode_digest(std::string_view(bytes).substr(0, n))) << n;
      EXPECT_FALSE(d.has_value()) << n;
    }
  }
  expect_digest_rejected(encode_digest(sample_digest()) + "x");
}

TEST(CodecDigestStorage, RejectsWrongVersion) {
  for (const json& v : {json(0), json(2), json("1"), json(1.5), json(nullptr), json(false), json::object()}) {
    expect_digest_rejected(edited_digest([&](json& j) { j["v"] = v; }));
  }
  expect_digest_rejected(edited_digest([](json& j) { j.erase("v"); }));
}

TEST(CodecDigestStorage, RejectsWrongTypes) {
  const std::vector<std::function<void(json&)>> edits = {
      [](json& j) { j.erase("digest"); },
      [](json& j) { j["digest"] = "{}"; },
      [](json& j) { j["digest"] = json::array(); },
      [](json& j) { j["digest"].erase("Id"); },
      [](json& j) { j["digest"]["Id"] = 5; },
      [](json& j) { j["digest"].erase("Email"); },
      [](json& j) { j["digest"]["Email"] = json::array(); },
      [](json& j) { j["digest"].erase("Reason"); },
      [](json& j) { j["digest"]["Reason"] = "bogus"; },
      [](json& j) { j["digest"]["Reason"] = "COUNT"; },
      [](json& j) { j["digest"]["Reason"] = 1; },
      [](json& j) { j["digest"].erase("FirstReceivedAt"); },
      [](json& j) { j["digest"]["FirstReceivedAt"] = "soon"; },
      [](json& j) { j["digest"]["FirstReceivedAt"] = 0; },
      [](json& j) { j["digest"].erase("EmittedAt"); },
      [](json& j) { j["digest"]["EmittedAt"] = 5; },
      [](json& j) { j["digest"].erase("Late"); },
      [](json& j) { j["digest"]["Late"] = "yes"; },
      [](json& j) { j["digest"]["Late"] = 1; },
      [](json& j) { j["digest"]["Late"] = nullptr; },
      [](json& j) { j["digest"].erase("Notifications"); },
      [](json& j) { j["digest"]["Notifications"] = json::object(); },
      [](json& j) { j["digest"]["Notifications"] = json::array({5}); },
      [](json& j) { j["digest"]["Notifications"][0]["Priority"] = "HIGH"; },
      [](json& j) { j["digest"]["Notifications"][0]["Timestamp"] = "x"; },
      [](json& j) { j["digest"]["Notifications"][0]["Email"] = nullptr; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(i);
    expect_digest_rejected(edited_digest(edits[i]));
  }
}

}  // namespace
}  // namespace rollup
