// The pure aggregation strategy (SPEC §2): no I/O, no clock, no globals.

#include "rollupd/core/strategy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "rollupd/core/decode.hpp"

namespace rollup {
namespace {

using namespace std::chrono_literals;

const timestamp t0 = *parse_rfc3339("2026-01-01T00:00:00Z");

notification item(const std::string& text, priority prio = priority::low, const std::string& email = "a@example.com") {
  notification n;
  n.email = email;
  n.correlation_id = *correlation_id_of(email);
  n.text = text;
  n.time = t0 - 1h;  // the producer's Timestamp, deliberately not the time of receipt
  n.prio = prio;
  return n;
}

event ev(const std::string& text, priority prio, timestamp received_at, const std::string& digest_id,
         const std::string& email = "a@example.com") {
  return event{item(text, prio, email), received_at, digest_id};
}

std::vector<std::string> texts(const std::vector<notification>& ns) {
  std::vector<std::string> out;
  for (const auto& n : ns) out.push_back(n.text);
  return out;
}

// Feeds `prios` one by one into an empty state; returns each outcome.
std::vector<outcome> run(const std::vector<priority>& prios, const policy& p) {
  std::vector<outcome> outs;
  std::optional<group> state;
  for (std::size_t i = 0; i < prios.size(); ++i) {
    auto o = strategy(ev("n" + std::to_string(i + 1), prios[i], t0 + std::chrono::seconds{i}, "d" + std::to_string(i + 1)),
                      state, p);
    state = o.state;
    outs.push_back(std::move(o));
  }
  return outs;
}

TEST(StrategyDefaults, PolicyDefaultsMatchSpec) {
  const policy p;
  EXPECT_EQ(p.max_notifications, 3U);
  EXPECT_EQ(p.flush_priority, priority::high);
}

// Behaviour 1 of the original design: three LOW notifications make one digest of three.
TEST(Strategy, ThreeLowGiveOneDigestOfThree) {
  const policy p;
  auto o1 = strategy(ev("first", priority::low, t0, "d1"), std::nullopt, p);
  EXPECT_FALSE(o1.emitted);
  ASSERT_TRUE(o1.state);
  EXPECT_EQ(o1.state->notifications.size(), 1U);

  auto o2 = strategy(ev("second", priority::low, t0 + 1s, "d2"), o1.state, p);
  EXPECT_FALSE(o2.emitted);
  ASSERT_TRUE(o2.state);
  EXPECT_EQ(o2.state->notifications.size(), 2U);
  EXPECT_EQ(o2.state->first_received_at, t0);

  auto o3 = strategy(ev("third", priority::low, t0 + 2s, "d3"), o2.state, p);
  ASSERT_TRUE(o3.emitted);
  EXPECT_FALSE(o3.state) << "a completed group is gone";
  const digest& d = *o3.emitted;
  EXPECT_EQ(d.reason, completion_reason::count);
  EXPECT_EQ(texts(d.notifications), (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(d.id, "d3");
  EXPECT_EQ(d.emitted_at, t0 + 2s);
  EXPECT_EQ(d.first_received_at, t0);
  EXPECT_EQ(d.email, "a@example.com");
  EXPECT_FALSE(d.late);
}

// Behaviour 2: LOW then HIGH makes a digest of two, by priority.
TEST(Strategy, LowThenHighGivesDigestOfTwo) {
  const auto outs = run({priority::low, priority::high}, policy{});
  EXPECT_FALSE(outs[0].emitted);
  ASSERT_TRUE(outs[1].emitted);
  EXPECT_FALSE(outs[1].state);
  const digest& d = *outs[1].emitted;
  EXPECT_EQ(d.reason, completion_reason::priority);
  EXPECT_EQ(texts(d.notifications), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(d.id, "d2");
  EXPECT_EQ(d.first_received_at, t0);
  EXPECT_EQ(d.emitted_at, t0 + 1s);
}

// Behaviour 3: an unknown user has no state; the first notification starts a fresh group.
TEST(Strategy, UnknownUserStartsAFreshPendingGroupOfOne) {
  const auto o = strategy(ev("hello", priority::low, t0 + 42s, "unused", "Bob@Example.com"), std::nullopt, policy{});
  EXPECT_FALSE(o.emitted);
  ASSERT_TRUE(o.state);
  EXPECT_EQ(o.state->correlation_id, "bob@example.com");
  EXPECT_EQ(o.state->first_received_at, t0 + 42s);
  ASSERT_EQ(o.state->notifications.size(), 1U);
  EXPECT_EQ(o.state->notifications[0].text, "hello");
  EXPECT_EQ(o.state->notifications[0].email, "Bob@Example.com");
}

TEST(Strategy, LoneHighGivesDigestOfOne) {
  const auto o = strategy(ev("alarm", priority::high, t0, "d1"), std::nullopt, policy{});
  ASSERT_TRUE(o.emitted);
  EXPECT_FALSE(o.state);
  EXPECT_EQ(o.emitted->reason, completion_reason::priority);
  EXPECT_EQ(o.emitted->notifications.size(), 1U);
  EXPECT_EQ(o.emitted->id, "d1");
  EXPECT_EQ(o.emitted->first_received_at, t0);
  EXPECT_EQ(o.emitted->emitted_at, t0);
}

TEST(Strategy, MediumIsNotAFlushByDefault) {
  const auto outs = run({priority::medium, priority::medium}, policy{});
  EXPECT_FALSE(outs[0].emitted);
  EXPECT_FALSE(outs[1].emitted);
  ASSERT_TRUE(outs[1].state);
  EXPECT_EQ(outs[1].state->notifications.size(), 2U);
}

// Rule 1 is checked before rule 2: a HIGH third notification completes by priority.
TEST(Strategy, PriorityIsCheckedBeforeCount) {
  const auto outs = run({priority::low, priority::low, priority::high}, policy{});
  ASSERT_TRUE(outs[2].emitted);
  EXPECT_EQ(outs[2].emitted->reason, completion_reason::priority);
  EXPECT_EQ(outs[2].emitted->notifications.size(), 3U);
}

TEST(StrategyPolicy, MaxNotificationsOne) {
  policy p;
  p.max_notifications = 1;
  const auto outs = run({priority::low, priority::low, priority::medium}, p);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    ASSERT_TRUE(outs[i].emitted) << i;
    EXPECT_FALSE(outs[i].state) << i;
    EXPECT_EQ(outs[i].emitted->reason, completion_reason::count);
    EXPECT_EQ(texts(outs[i].emitted->notifications), std::vector<std::string>{"n" + std::to_string(i + 1)});
    EXPECT_EQ(outs[i].emitted->first_received_at, t0 + std::chrono::seconds{i});
  }
}

TEST(StrategyPolicy, MaxNotificationsFive) {
  policy p;
  p.max_notifications = 5;
  const auto outs = run({priority::low, priority::low, priority::low, priority::low, priority::low, priority::low}, p);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(outs[i].emitted) << i;
    ASSERT_TRUE(outs[i].state);
    EXPECT_EQ(outs[i].state->notifications.size(), i + 1);
  }
  ASSERT_TRUE(outs[4].emitted);
  EXPECT_EQ(outs[4].emitted->reason, completion_reason::count);
  EXPECT_EQ(texts(outs[4].emitted->notifications), (std::vector<std::string>{"n1", "n2", "n3", "n4", "n5"}));
  EXPECT_EQ(outs[4].emitted->id, "d5");
  EXPECT_FALSE(outs[4].state);
  // the sixth starts a new group
  EXPECT_FALSE(outs[5].emitted);
  ASSERT_TRUE(outs[5].state);
  EXPECT_EQ(texts(outs[5].state->notifications), std::vector<std::string>{"n6"});
  EXPECT_EQ(outs[5].state->first_received_at, t0 + 5s);
}

TEST(StrategyPolicy, FlushPriorityMedium) {
  policy p;
  p.flush_priority = priority::medium;
  {
    const auto outs = run({priority::low, priority::medium}, p);
    EXPECT_FALSE(outs[0].emitted);
    ASSERT_TRUE(outs[1].emitted);
    EXPECT_EQ(outs[1].emitted->reason, completion_reason::priority);
    EXPECT_EQ(outs[1].emitted->notifications.size(), 2U);
  }
  {
    const auto outs = run({priority::high}, p);
    ASSERT_TRUE(outs[0].emitted);
    EXPECT_EQ(outs[0].emitted->reason, completion_reason::priority);
  }
  {
    const auto outs = run({priority::low, priority::low, priority::low}, p);
    EXPECT_FALSE(outs[1].emitted);
    ASSERT_TRUE(outs[2].emitted);
    EXPECT_EQ(outs[2].emitted->reason, completion_reason::count);
  }
}

TEST(StrategyPolicy, FlushPriorityLowFlushesEverything) {
  policy p;
  p.flush_priority = priority::low;
  const auto outs = run({priority::low}, p);
  ASSERT_TRUE(outs[0].emitted);
  EXPECT_EQ(outs[0].emitted->reason, completion_reason::priority);
}

TEST(Strategy, StateIsEmptyAfterCompletionAndTheNextStartsFresh) {
  const policy p;
  auto done = strategy(ev("alarm", priority::high, t0, "d1"), std::nullopt, p);
  ASSERT_TRUE(done.emitted);
  EXPECT_FALSE(done.state.has_value());
  auto next = strategy(ev("later", priority::low, t0 + 1h, "d2"), done.state, p);
  EXPECT_FALSE(next.emitted);
  ASSERT_TRUE(next.state);
  EXPECT_EQ(next.state->first_received_at, t0 + 1h);
  EXPECT_EQ(texts(next.state->notifications), std::vector<std::string>{"later"});
}

TEST(Strategy, FirstReceivedAtIsTheTimeOfReceiptNotTheProducersTimestamp) {
  auto e = ev("x", priority::low, t0 + 3s, "d1");
  e.item.time = t0 - 24h;
  const auto o = strategy(e, std::nullopt, policy{});
  ASSERT_TRUE(o.state);
  EXPECT_EQ(o.state->first_received_at, t0 + 3s);
  EXPECT_EQ(o.state->notifications[0].time, t0 - 24h);
}

TEST(Strategy, NotificationsAreKeptIntact) {
  auto e = ev("x", priority::medium, t0, "d1");
  e.item.id = "key-1";
  e.item.extra = nlohmann::json{{"Source", "ids"}, {"Meta", {{"k", 1}}}};
  const auto o = strategy(e, std::nullopt, policy{});
  ASSERT_TRUE(o.state);
  const auto& n = o.state->notifications.at(0);
  EXPECT_EQ(n.id, "key-1");
  EXPECT_EQ(n.extra, e.item.extra);
  EXPECT_EQ(n.prio, priority::medium);
  EXPECT_EQ(n.time, t0 - 1h);
}

TEST(Strategy, DigestEmailIsTheCorrelationId) {
  policy p;
  p.max_notifications = 2;
  auto o1 = strategy(ev("x", priority::low, t0, "d1", "  Alice@Example.COM"), std::nullopt, p);
  auto o2 = strategy(ev("y", priority::low, t0 + 1s, "d2", "alice@example.com"), o1.state, p);
  ASSERT_TRUE(o2.emitted);
  EXPECT_EQ(o2.emitted->email, "alice@example.com");
}

TEST(Strategy, IsDeterministic) {
  const policy p;
  std::optional<group> state = strategy(ev("a", priority::low, t0, "d1"), std::nullopt, p).state;
  const auto x = strategy(ev("b", priority::high, t0 + 1s, "d2"), state, p);
  const auto y = strategy(ev("b", priority::high, t0 + 1s, "d2"), state, p);
  ASSERT_TRUE(x.emitted && y.emitted);
  EXPECT_EQ(x.emitted->id, y.emitted->id);
  EXPECT_EQ(texts(x.emitted->notifications), texts(y.emitted->notifications));
  EXPECT_EQ(x.emitted->emitted_at, y.emitted->emitted_at);
  // the caller's state was taken by value and is unchanged
  ASSERT_TRUE(state);
  EXPECT_EQ(state->notifications.size(), 1U);
}

// ------------------------------------------------------------- complete()

group open_group(std::size_t n) {
  group g{"a@example.com", t0, {}, std::nullopt};
  for (std::size_t i = 0; i < n; ++i) g.notifications.push_back(item("n" + std::to_string(i + 1)));
  return g;
}

TEST(StrategyComplete, FlushOnTime) {
  const auto d = complete(open_group(2), completion_reason::flush, "f1", t0 + 5min, false);
  EXPECT_EQ(d.id, "f1");
  EXPECT_EQ(d.email, "a@example.com");
  EXPECT_EQ(d.reason, completion_reason::flush);
  EXPECT_EQ(d.first_received_at, t0);
  EXPECT_EQ(d.emitted_at, t0 + 5min);
  EXPECT_FALSE(d.late);
  EXPECT_EQ(texts(d.notifications), (std::vector<std::string>{"n1", "n2"}));
}

TEST(StrategyComplete, TimeoutLate) {
  const auto d = complete(open_group(1), completion_reason::timeout, "t1", t0 + 3h, true);
  EXPECT_EQ(d.id, "t1");
  EXPECT_EQ(d.reason, completion_reason::timeout);
  EXPECT_EQ(d.first_received_at, t0);
  EXPECT_EQ(d.emitted_at, t0 + 3h);
  EXPECT_TRUE(d.late);
  EXPECT_EQ(d.notifications.size(), 1U);
}

TEST(StrategyComplete, TimeoutOnTime) {
  const auto d = complete(open_group(2), completion_reason::timeout, "t2", t0 + 10min, false);
  EXPECT_EQ(d.reason, completion_reason::timeout);
  EXPECT_FALSE(d.late);
}

TEST(StrategyReason, Names) {
  EXPECT_STREQ(reason_name(completion_reason::priority), "priority");
  EXPECT_STREQ(reason_name(completion_reason::count), "count");
  EXPECT_STREQ(reason_name(completion_reason::timeout), "timeout");
  EXPECT_STREQ(reason_name(completion_reason::flush), "flush");
}

}  // namespace
}  // namespace rollup
