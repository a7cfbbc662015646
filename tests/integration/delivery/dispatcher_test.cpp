// The outbox dispatcher against a real RocksDB. The sinks are the real file
// sink and a scripted one that fails on demand; time is a fake clock, so
// backoff is tested without sleeping through it.
#include "rollupd/delivery/dispatcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "rollupd/delivery/file_sink.hpp"
#include "rollupd/storage/database.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace rollup::delivery {
namespace {

using namespace std::chrono_literals;

// Fails the first `failures` attempts (optionally asking Retry-After), then
// confirms; records the order of confirmed digests, and the first
// notification's text of every attempt.
class scripted_sink final : public sink {
 public:
  explicit scripted_sink(int failures, std::optional<duration> retry_after = std::nullopt)
      : failures_(failures), retry_after_(retry_after) {}
  std::string_view name() const override { return "scripted"; }
  void deliver(const digest& d, const std::string&, std::function<void(attempt_outcome)> done) override {
    std::unique_lock lock(mutex_);
    ++attempts_;
    texts_.push_back(d.notifications.at(0).text);
    if (failures_ > 0) {
      --failures_;
      lock.unlock();
      return done(attempt_outcome{false, "receiver said no", retry_after_});
    }
    confirmed_.push_back(d.id);
    lock.unlock();
    done(attempt_outcome{true, {}, std::nullopt});
  }
  std::vector<std::string> confirmed() {
    std::lock_guard lock(mutex_);
    return confirmed_;
  }
  int attempts() {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  std::vector<std::string> texts() {
    std::lock_guard lock(mutex_);
    return texts_;
  }

 private:
  std::mutex mutex_;
  int failures_;
  std::optional<duration> retry_after_;
  int attempts_ = 0;
  std::vector<std::string> confirmed_;
  std::vector<std::string> texts_;
};

digest make_digest(const std::string& id, const std::string& email, timestamp at) {
  notification n;
  n.email = email;
  n.correlation_id = email;
  n.text = "x";
  n.time = at;
  return digest{id, email, completion_reason::count, at, at, false, {n}};
}

// Polls `pred` for up to 10 s (real time: the dispatcher runs on threads).
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class dispatcher_test : public ::testing::Test {
 protected:
  void SetUp() override { db_ = storage::database::open({dir_.str() + "/db", false, 2000ms}); }

  void put(const std::string& id, const std::string& email, const std::vector<std::string>& sinks) {
    auto txn = db_->begin();
    ASSERT_TRUE(txn->put_digest(make_digest(id, email, clock_.now()), sinks));
    ASSERT_TRUE(txn->commit());
  }

  delivery_state state_of(const std::string& id, const std::string& sink) {
    auto states = db_->read_deliveries(id);
    EXPECT_TRUE(states);
    for (auto& s : *states)
      if (s.sink == sink) return s;
    ADD_FAILURE() << "no delivery state for " << sink;
    return {};
  }

  // Digest Id number i, in Id order.
  static std::string id_of(int i) {
    char id[33];
    std::snprintf(id, sizeof id, "%016d0000000000000000", i);
    return id;
  }

  // A started dispatcher with `sk` as its one sink and no idle poll: only the
  // first pass, notify() and the dispatcher's own completions start passes.
  std::unique_ptr<dispatcher> start_unpolled(std::unique_ptr<sink> sk, dispatcher_options o = {}) {
    o.idle_poll = 1h;
    auto d = std::make_unique<dispatcher>(*db_, clock_, o);
    d->add(std::move(sk));
    d->start();
    return d;
  }

  testing::temp_dir dir_;
  testing::fake_clock clock_;
  std::unique_ptr<storage::database> db_;
};

TEST_F(dispatcher_test, DeliversAndRetiresOnlyAfterConfirmation) {
  put("00000000000000010000000000000000", "a@x.io", {"file"});
  put("00000000000000020000000000000000", "b@x.io", {"file"});
  const auto path = dir_.str() + "/digests.jsonl";
  dispatcher_options o;
  auto& m = *o.metrics;
  dispatcher d(*db_, clock_, o);
  d.add(make_file_sink(path));
  EXPECT_EQ(m.outbox_depth.with({"file"}).value(), 2) << "counted from storage when the sink is added";
  clock_.advance(5s);  // the digests' groups opened 5 s before delivery
  d.start();
  ASSERT_TRUE(eventually([&] { return *db_->count_outbox() == 0; }));
  d.stop(1s);
  EXPECT_EQ(m.outbox_depth.with({"file"}).value(), 0);
  EXPECT_EQ(m.deliveries.with({"file", "delivered"}).value(), 2U);
  EXPECT_EQ(m.deliveries.with({"file", "failed"}).value(), 0U);
  const auto latency = m.delivery_latency.with({"file"}).read();
  EXPECT_EQ(latency.cumulative.back(), 2U);
  EXPECT_DOUBLE_EQ(latency.sum, 10.0);

  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0]["Id"], "00000000000000010000000000000000");
  EXPECT_EQ(lines[1]["Email"], "b@x.io");
  const auto st = state_of("00000000000000010000000000000000", "file");
  EXPECT_EQ(st.status, delivery_status::delivered);
  EXPECT_EQ(st.attempts, 1);
  EXPECT_TRUE(st.delivered_at);
}

TEST_F(dispatcher_test, FailuresBackOffAndSucceedOnceDue) {
  put("00000000000000010000000000000000", "a@x.io", {"scripted"});
  auto owned = std::make_unique<scripted_sink>(2);
  auto* sk = owned.get();
  dispatcher d(*db_, clock_, {});
  d.add(std::move(owned));
  d.start();

  ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == 1; }));
  auto st = state_of("00000000000000010000000000000000", "scripted");
  EXPECT_EQ(st.status, delivery_status::pending);
  EXPECT_EQ(st.last_error, "receiver said no");
  ASSERT_TRUE(st.next_attempt_at);
  EXPECT_GE(*st.next_attempt_at, clock_.now() + 500ms);  // first retry: 0.5–1 s later
  EXPECT_LE(*st.next_attempt_at, clock_.now() + 1s);

  // Not due yet: nothing more happens however often the outbox is looked at.
  d.notify();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sk->attempts(), 1);

  clock_.advance(1s);
  d.notify();
  // Move the clock only once the failure is recorded: its next attempt time
  // is computed from the clock when the dispatcher records it.
  ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == 2; }));
  clock_.advance(2s);
  d.notify();
  ASSERT_TRUE(eventually([&] { return *db_->count_outbox() == 0; }));
  EXPECT_EQ(sk->confirmed().size(), 1U);
  EXPECT_EQ(state_of("00000000000000010000000000000000", "scripted").attempts, 3);
  d.stop(1s);
}

TEST_F(dispatcher_test, RetryAfterIsHonoured) {
  put("00000000000000010000000000000000", "a@x.io", {"scripted"});
  dispatcher d(*db_, clock_, {});
  d.add(std::make_unique<scripted_sink>(1, 7s));
  d.start();
  ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == 1; }));
  EXPECT_EQ(*state_of("00000000000000010000000000000000", "scripted").next_attempt_at, clock_.now() + 7s);
  d.stop(1s);
}

TEST_F(dispatcher_test, DeadLettersAfterMaxAttemptsAndRedeliverQueuesAgain) {
  put("00000000000000010000000000000000", "a@x.io", {"scripted"});
  auto owned = std::make_unique<scripted_sink>(3);
  auto* sk = owned.get();
  dispatcher_options o;
  o.max_attempts = 3;
  dispatcher d(*db_, clock_, o);
  d.add(std::move(owned));
  d.start();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == i; }))
        << i;
    clock_.advance(10min);
    d.notify();
  }
  ASSERT_TRUE(eventually(
      [&] { return state_of("00000000000000010000000000000000", "scripted").status == delivery_status::dead; }));
  EXPECT_EQ(*db_->count_outbox(), 0U);
  EXPECT_EQ(state_of("00000000000000010000000000000000", "scripted").attempts, 3);
  // Counted just after the storage write the test waited for.
  EXPECT_TRUE(eventually([&] { return o.metrics->deliveries.with({"scripted", "dead_lettered"}).value() == 1U; }));
  EXPECT_EQ(o.metrics->deliveries.with({"scripted", "failed"}).value(), 2U);
  EXPECT_EQ(o.metrics->outbox_depth.with({"scripted"}).value(), 0);

  auto sinks = db_->redeliver("00000000000000010000000000000000", clock_.now());
  ASSERT_TRUE(sinks);
  EXPECT_EQ(*sinks, std::vector<std::string>{"scripted"});
  d.notify();
  ASSERT_TRUE(eventually(
      [&] { return state_of("00000000000000010000000000000000", "scripted").status == delivery_status::delivered; }));
  EXPECT_EQ(sk->confirmed().size(), 1U);
  d.stop(1s);
}

TEST_F(dispatcher_test, OneUsersDigestsGoInOrderBehindAFailure) {
  put("00000000000000010000000000000000", "a@x.io", {"scripted"});
  put("00000000000000020000000000000000", "a@x.io", {"scripted"});
  put("00000000000000030000000000000000", "b@x.io", {"scripted"});
  auto owned = std::make_unique<scripted_sink>(1);  // a's first digest fails once
  auto* sk = owned.get();
  dispatcher d(*db_, clock_, {});
  d.add(std::move(owned));
  d.start();
  // b is not held up by a's failure; a's second digest waits behind its first.
  ASSERT_TRUE(eventually([&] { return sk->confirmed().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == 1; }));
  EXPECT_EQ(sk->confirmed(), std::vector<std::string>{"00000000000000030000000000000000"});
  clock_.advance(1s);
  d.notify();
  ASSERT_TRUE(eventually([&] { return sk->confirmed().size() == 3; }));
  EXPECT_EQ(sk->confirmed()[1], "00000000000000010000000000000000");
  EXPECT_EQ(sk->confirmed()[2], "00000000000000020000000000000000");
  d.stop(1s);
}

TEST_F(dispatcher_test, AFullLaneGoesOnFromWhereItStopped) {
  // Two attempts at a time over 20 digests of 5 users, and no pass but the
  // first and those completions start: every digest is delivered once, each
  // user's in Id order.
  std::map<std::string, std::vector<std::string>> expected;
  for (int i = 1; i <= 20; ++i) {
    const auto email = "u" + std::to_string(i % 5) + "@x.io";
    put(id_of(i), email, {"scripted"});
    expected[email].push_back(id_of(i));
  }
  auto owned = std::make_unique<scripted_sink>(0);
  auto* sk = owned.get();
  dispatcher_options o;
  o.max_in_flight = 2;
  auto d = start_unpolled(std::move(owned), o);
  ASSERT_TRUE(eventually([&] { return *db_->count_outbox() == 0; }));
  d->stop(1s);
  const auto confirmed = sk->confirmed();
  ASSERT_EQ(confirmed.size(), 20U);
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& id : confirmed) got["u" + std::to_string(std::stoi(id.substr(0, 16)) % 5) + "@x.io"].push_back(id);
  EXPECT_EQ(got, expected);
}

TEST_F(dispatcher_test, AUsersBacklogGoesInOrderFromMemory) {
  // One user's 30 digests (the first fails once) among 5 of others: each
  // later digest waits for the one before it, and all go, in order, with no
  // pass but the first, those completions start and the failure's retry.
  std::vector<std::string> hot;
  for (int i = 1; i <= 35; ++i) {
    const bool other = i % 7 == 0;
    put(id_of(i), other ? "u" + std::to_string(i) + "@x.io" : "hot@x.io", {"scripted"});
    if (!other) hot.push_back(id_of(i));
  }
  auto owned = std::make_unique<scripted_sink>(1, 100ms);
  auto* sk = owned.get();
  auto d = start_unpolled(std::move(owned));
  ASSERT_TRUE(eventually([&] { return state_of(hot[0], "scripted").attempts == 1; }));
  EXPECT_TRUE(eventually([&] { return sk->confirmed().size() == 5U; })) << "the others are not held up";
  clock_.advance(1s);
  ASSERT_TRUE(eventually([&] { return *db_->count_outbox() == 0; }));
  d->stop(1s);
  std::vector<std::string> got;
  for (const auto& id : sk->confirmed())
    if (std::find(hot.begin(), hot.end(), id) != hot.end()) got.push_back(id);
  EXPECT_EQ(got, hot);
  EXPECT_EQ(sk->attempts(), 36);
}

TEST_F(dispatcher_test, AFailedAttemptIsTriedAgainWithoutBeingNamed) {
  // No idle poll and no notify(): the failure itself brings the entry back.
  put(id_of(1), "a@x.io", {"scripted"});
  auto owned = std::make_unique<scripted_sink>(1, 100ms);
  auto* sk = owned.get();
  auto d = start_unpolled(std::move(owned));
  ASSERT_TRUE(eventually([&] { return state_of(id_of(1), "scripted").attempts == 1; }));
  clock_.advance(1s);
  ASSERT_TRUE(eventually([&] { return sk->confirmed().size() == 1U; }));
  d->stop(1s);
}

TEST_F(dispatcher_test, ASinkDeliversTheCopyItIsHandedOnceThenReadsTheDigestBack) {
  // The copy says so in its text; the stored digest says "x". The copy is
  // handed over first, so whichever pass reaches the entry finds it.
  auto owned = std::make_unique<scripted_sink>(1, 100ms);
  auto* sk = owned.get();
  auto d = start_unpolled(std::move(owned));
  auto handed = make_digest(id_of(1), "a@x.io", clock_.now());
  handed.notifications[0].text = "handed over";
  d->notify(id_of(1), {std::make_shared<const digest>(handed)});
  put(id_of(1), "a@x.io", {"scripted"});
  d->notify(id_of(1));
  ASSERT_TRUE(eventually([&] { return state_of(id_of(1), "scripted").attempts == 1; }));
  clock_.advance(1s);  // the retry reads the stored digest
  ASSERT_TRUE(eventually([&] { return sk->confirmed().size() == 1U; }));
  EXPECT_EQ(sk->texts(), (std::vector<std::string>{"handed over", "x"}));
  d->stop(1s);
}

// A started dispatcher whose one sink confirms everything, with digest 5 of
// a@x.io already delivered, so that its passes no longer start at the
// outbox's first key.
struct passes_fixture {
  passes_fixture(storage::database& db, const time_source& clock, duration idle_poll,
                 const std::function<void(const std::string&)>& put) {
    auto owned = std::make_unique<scripted_sink>(0);
    sk = owned.get();
    dispatcher_options o;
    o.idle_poll = idle_poll;
    d = std::make_unique<dispatcher>(db, clock, o);
    d->add(std::move(owned));
    d->start();
    put("00000000000000050000000000000000");
    d->notify("00000000000000050000000000000000");
    delivered_first = eventually([&] { return sk->confirmed().size() == 1; });
  }
  ~passes_fixture() { d->stop(1s); }
  scripted_sink* sk = nullptr;
  std::unique_ptr<dispatcher> d;
  bool delivered_first = false;
};

TEST_F(dispatcher_test, APassReadsFromTheIdItIsToldAndAWholePassFindsTheRest) {
  passes_fixture f(*db_, clock_, 1h, [&](const std::string& id) { put(id, "a@x.io", {"scripted"}); });  // no idle poll
  ASSERT_TRUE(f.delivered_first);

  // An entry below every Id a pass has seen (as a redelivery queues): found
  // when it is named.
  put("00000000000000030000000000000000", "b@x.io", {"scripted"});
  f.d->notify("00000000000000030000000000000000");
  ASSERT_TRUE(eventually([&] { return f.sk->confirmed().size() == 2; }));

  // Named too high, it is skipped: passes do not walk the outbox from its start...
  put("00000000000000020000000000000000", "c@x.io", {"scripted"});
  f.d->notify("00000000000000040000000000000000");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(f.sk->confirmed().size(), 2U);
  // ...except when asked to.
  f.d->notify();
  ASSERT_TRUE(eventually([&] { return f.sk->confirmed().size() == 3; }));
  EXPECT_EQ(f.sk->confirmed()[2], "00000000000000020000000000000000");
}

TEST_F(dispatcher_test, TheIdlePollReadsTheWholeOutbox) {
  passes_fixture f(*db_, clock_, 200ms, [&](const std::string& id) { put(id, "a@x.io", {"scripted"}); });
  ASSERT_TRUE(f.delivered_first);
  put("00000000000000010000000000000000", "b@x.io", {"scripted"});  // never named
  ASSERT_TRUE(eventually([&] { return f.sk->confirmed().size() == 2; }));
}

TEST_F(dispatcher_test, UnderSteadyNotificationsTheOutboxIsStillReadWhole) {
  passes_fixture f(*db_, clock_, 300ms, [&](const std::string& id) { put(id, "a@x.io", {"scripted"}); });
  ASSERT_TRUE(f.delivered_first);
  put(id_of(1), "b@x.io", {"scripted"});  // never named, below where passes start
  // A pass every 20 ms, each of which re-arms the idle timer.
  bool found = false;
  for (int i = 0; i < 150 && !found; ++i) {
    f.d->notify(id_of(9));
    std::this_thread::sleep_for(20ms);
    found = f.sk->confirmed().size() == 2U;
  }
  EXPECT_TRUE(found);
}

TEST_F(dispatcher_test, UndeliveredEntriesResumeAfterRestart) {
  put("00000000000000010000000000000000", "a@x.io", {"scripted"});
  {
    dispatcher d(*db_, clock_, {});
    d.add(std::make_unique<scripted_sink>(1));
    d.start();
    ASSERT_TRUE(eventually([&] { return state_of("00000000000000010000000000000000", "scripted").attempts == 1; }));
    d.stop(1s);
  }
  EXPECT_EQ(*db_->count_outbox(), 1U);
  clock_.advance(1min);
  auto owned = std::make_unique<scripted_sink>(0);
  auto* sk = owned.get();
  dispatcher d(*db_, clock_, {});
  d.add(std::move(owned));
  d.start();
  ASSERT_TRUE(eventually([&] { return sk->confirmed().size() == 1; }));
  d.stop(1s);
}

TEST_F(dispatcher_test, ASlowSinkDoesNotHoldUpAnother) {
  // A sink that never answers until cancelled.
  class hanging_sink final : public sink {
   public:
    std::string_view name() const override { return "hanging"; }
    void deliver(const digest&, const std::string&, std::function<void(attempt_outcome)> done) override {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(done));
    }
    void cancel() override {
      std::vector<std::function<void(attempt_outcome)>> all;
      {
        std::lock_guard lock(mutex_);
        all.swap(pending_);
      }
      for (auto& f : all) f(attempt_outcome{false, "cancelled", std::nullopt});
    }
    std::mutex mutex_;
    std::vector<std::function<void(attempt_outcome)>> pending_;
  };
  put("00000000000000010000000000000000", "a@x.io", {"hanging", "file"});
  const auto path = dir_.str() + "/digests.jsonl";
  dispatcher d(*db_, clock_, {});
  d.add(std::make_unique<hanging_sink>());
  d.add(make_file_sink(path));
  d.start();
  ASSERT_TRUE(eventually(
      [&] { return state_of("00000000000000010000000000000000", "file").status == delivery_status::delivered; }));
  d.stop(100ms);  // abandons the hanging attempt: it stays queued, uncounted
  const auto st = state_of("00000000000000010000000000000000", "hanging");
  EXPECT_EQ(st.status, delivery_status::pending);
  EXPECT_EQ(st.attempts, 0);
  EXPECT_EQ(*db_->count_outbox(), 1U);
}

}  // namespace
}  // namespace rollup::delivery
