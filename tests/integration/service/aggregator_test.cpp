// The load–strategy–save cycle against a real RocksDB, with a fake clock.
#include "rollupd/service/aggregator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rollupd/storage/database.hpp"
#include "support/fake_clock.hpp"
#include "support/raw_rocksdb.hpp"
#include "support/temp_dir.hpp"

namespace rollup {
namespace {

using namespace std::chrono_literals;

notification make(const std::string& email, const std::string& text, priority p = priority::low,
                  std::optional<std::string> id = std::nullopt) {
  notification n;
  n.email = email;
  n.correlation_id = email;
  n.text = text;
  n.time = *parse_rfc3339("2019-08-10T15:31:47.808596Z");
  n.prio = p;
  n.id = std::move(id);
  return n;
}

// Calls an asynchronous aggregator method and waits for its answer.
template <class T, class Call>
result<T> wait(Call call) {
  std::promise<result<T>> p;
  auto f = p.get_future();
  call([&p](result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

class aggregator_test : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(aggregator_options opts = {}) {
    stop();
    db_ = storage::database::open({dir_.str(), false});
    agg_ = std::make_unique<aggregator>(*db_, clock_, opts);
  }

  void stop() {
    agg_.reset();
    db_.reset();
  }

  result<std::vector<ingest_result>> ingest(std::vector<notification> items,
                                            std::optional<std::string> key = std::nullopt) {
    return wait<std::vector<ingest_result>>([&](auto done) {
      agg_->ingest(ingest_request{std::move(items), std::move(key)}, std::move(done));
    });
  }
  ingest_result one(notification n, std::optional<std::string> key = std::nullopt) {
    auto r = ingest({std::move(n)}, std::move(key));
    EXPECT_TRUE(r);
    return r ? (*r)[0] : ingest_result{};
  }

  // One request with items for two users: one answer per item, in request
  // order, each user's items applied in order.
  void expect_array_answers_in_order() {
    auto r = ingest({make("a@x.io", "a1"), make("b@x.io", "b1"), make("a@x.io", "a2"), make("a@x.io", "a3")});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4U);
    EXPECT_EQ((*r)[0].email, "a@x.io");
    EXPECT_EQ((*r)[0].pending, 1U);
    EXPECT_EQ((*r)[1].email, "b@x.io");
    EXPECT_EQ((*r)[1].pending, 1U);
    EXPECT_EQ((*r)[2].pending, 2U);
    ASSERT_TRUE((*r)[3].emitted);
    EXPECT_EQ((*r)[3].emitted->notifications[0].text, "a1");
  }

  // Many threads post for one user at once: each notification is applied
  // exactly once, three to a digest.
  void expect_concurrent_posts_applied_once() {
    constexpr int threads = 8, per_thread = 25;  // 200 notifications
    std::vector<std::thread> workers;
    std::mutex m;
    std::vector<ingest_result> results;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          auto r = ingest({make("hot@x.io", "n-" + std::to_string(t * per_thread + i))});
          ASSERT_TRUE(r);
          std::lock_guard lock(m);
          results.push_back((*r)[0]);
        }
      });
    }
    for (auto& w : workers) w.join();

    std::multiset<std::string> seen;
    std::size_t digests = 0;
    for (const auto& r : results) {
      if (!r.emitted) continue;
      ++digests;
      EXPECT_EQ(r.emitted->notifications.size(), 3U);
      for (const auto& n : r.emitted->notifications) seen.insert(n.text);
    }
    EXPECT_EQ(digests, 66U);
    auto open = wait<group_view>([&](auto done) { agg_->get_group("hot@x.io", std::move(done)); });
    ASSERT_TRUE(open);
    EXPECT_EQ(open->notifications.size(), 2U);
    for (const auto& n : open->notifications) seen.insert(n.text);
    ASSERT_EQ(seen.size(), 200U);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(seen.count("n-" + std::to_string(i)), 1U) << i;
  }

  // Many notifications for one user queued without waiting: each group holds
  // them in the order ingest() was called.
  void expect_arrival_order() {
    std::vector<std::future<result<std::vector<ingest_result>>>> answers;
    std::vector<std::shared_ptr<std::promise<result<std::vector<ingest_result>>>>> promises;
    for (int i = 0; i < 60; ++i) {
      auto p = std::make_shared<std::promise<result<std::vector<ingest_result>>>>();
      answers.push_back(p->get_future());
      agg_->ingest(ingest_request{{make("o@x.io", std::to_string(i))}, std::nullopt},
                   [p](auto r) { p->set_value(std::move(r)); });
    }
    int expected = 0;
    for (auto& f : answers) {
      auto r = f.get();
      ASSERT_TRUE(r);
      if (!(*r)[0].emitted) continue;
      for (const auto& n : (*r)[0].emitted->notifications) EXPECT_EQ(n.text, std::to_string(expected++));
    }
    EXPECT_EQ(expected, 60);
  }

  // Single notifications for many users queued at once, far more than one
  // transaction answers (16 whole requests), so the line is split across
  // transactions and workers: each is applied once, each user's in the
  // order ingest() was called, and every answer comes.
  void expect_many_users_queued_at_once_apply_once_in_order() {
    constexpr int users = 100, per_user = 5;
    const auto user = [](int u) { return "m" + std::to_string(u) + "@x.io"; };
    std::vector<std::future<result<std::vector<ingest_result>>>> answers;
    for (int k = 0; k < per_user; ++k)
      for (int u = 0; u < users; ++u) {
        auto p = std::make_shared<std::promise<result<std::vector<ingest_result>>>>();
        answers.push_back(p->get_future());
        agg_->ingest(ingest_request{{make(user(u), std::to_string(k))}, std::nullopt},
                     [p](auto r) { p->set_value(std::move(r)); });
      }
    std::map<std::string, std::vector<std::string>> applied;
    for (auto& f : answers) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
      auto r = f.get();
      ASSERT_TRUE(r);
      if ((*r)[0].emitted)
        for (const auto& n : (*r)[0].emitted->notifications) applied[(*r)[0].emitted->email].push_back(n.text);
    }
    for (int u = 0; u < users; ++u) {
      auto open = wait<group_view>([&](auto done) { agg_->get_group(user(u), std::move(done)); });
      ASSERT_TRUE(open) << user(u);
      for (const auto& n : open->notifications) applied[user(u)].push_back(n.text);
      EXPECT_EQ(applied[user(u)], (std::vector<std::string>{"0", "1", "2", "3", "4"})) << user(u);
    }
    EXPECT_EQ(agg_->active_strands(), 0U);
  }

  // Threads send arrays spanning overlapping users, each naming them in its
  // own order, beside single posts and flushes: nothing waits forever, each
  // notification is applied exactly once, and each user's notifications are
  // applied in the order their sender sent them.
  void expect_overlapping_arrays_apply_each_once_in_order() {
    constexpr int threads = 6, rounds = 40, users = 7;
    const auto user = [](int u) { return "u" + std::to_string(u) + "@x.io"; };
    std::vector<std::thread> workers;
    std::mutex m;
    std::vector<digest> digests;
    std::size_t sent = 0;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) {
          std::vector<notification> items;
          if (t == 0 && r % 5 == 4) {  // a flush now and then, through the same strands
            auto f = wait<digest>([&](auto done) { agg_->flush(user(r % users), std::move(done)); });
            if (f) {
              std::lock_guard lock(m);
              digests.push_back(std::move(*f));
            }
            continue;
          }
          // Users in an order of this thread's and round's; every second
          // round a lone notification instead of an array.
          const int span = t % 2 == 1 && r % 2 == 1 ? 1 : 2 + (t + r) % (users - 1);
          for (int k = 0; k < span; ++k) {
            const int u = (t * 3 + r + k * (t + 2)) % users;
            const auto prio = (t + r + k) % 11 == 0 ? priority::high : priority::low;
            items.push_back(make(user(u), std::to_string(t) + "/" + std::to_string(r) + "/" + std::to_string(k), prio));
          }
          const auto count = items.size();
          auto answer = ingest(std::move(items));
          ASSERT_TRUE(answer);
          std::lock_guard lock(m);
          sent += count;
          for (auto& one_result : *answer)
            if (one_result.emitted) digests.push_back(std::move(*one_result.emitted));
        }
      });
    }
    for (auto& w : workers) w.join();

    // Each user's notifications in the order they were applied.
    std::map<std::string, std::vector<std::string>> applied;
    std::sort(digests.begin(), digests.end(), [](const digest& a, const digest& b) { return a.id < b.id; });
    for (const auto& d : digests)
      for (const auto& n : d.notifications) applied[d.email].push_back(n.text);
    for (int u = 0; u < users; ++u) {
      auto open = wait<group_view>([&](auto done) { agg_->get_group(user(u), std::move(done)); });
      if (open)
        for (const auto& n : open->notifications) applied[user(u)].push_back(n.text);
    }
    std::set<std::string> seen;
    std::size_t total = 0;
    for (const auto& [email, texts] : applied) {
      std::map<std::string, std::pair<int, int>> last;  // sender -> its last (round, position) seen for this user
      for (const auto& text : texts) {
        ++total;
        EXPECT_TRUE(seen.insert(text).second) << text << " applied twice";
        const auto a = text.find('/'), b = text.rfind('/');
        const std::pair<int, int> at{std::stoi(text.substr(a + 1, b - a - 1)), std::stoi(text.substr(b + 1))};
        const auto sender = text.substr(0, a);
        if (last.count(sender)) {
          EXPECT_LT(last[sender], at) << email << ": " << text << " applied out of order";
        }
        last[sender] = at;
      }
    }
    EXPECT_EQ(total, sent);
    EXPECT_EQ(agg_->active_strands(), 0U);
  }

  testing::temp_dir dir_;
  testing::fake_clock clock_;
  std::unique_ptr<storage::database> db_;
  std::unique_ptr<aggregator> agg_;
};

TEST_F(aggregator_test, ThreeLowNotificationsGiveOneDigestOfThree) {
  EXPECT_EQ(one(make("a@x.io", "1")).pending, 1U);
  EXPECT_EQ(one(make("a@x.io", "2")).pending, 2U);
  auto third = one(make("a@x.io", "3"));
  EXPECT_EQ(third.pending, 0U);
  ASSERT_TRUE(third.emitted);
  EXPECT_EQ(third.emitted->reason, completion_reason::count);
  ASSERT_EQ(third.emitted->notifications.size(), 3U);
  EXPECT_EQ(third.emitted->notifications[2].text, "3");

  // The digest committed with the cycle; the group is gone.
  auto stored = wait<stored_digest>([&](auto done) { agg_->get_digest(third.emitted->id, std::move(done)); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->d.notifications.size(), 3U);
  ASSERT_EQ(stored->deliveries.size(), 1U);
  EXPECT_EQ(stored->deliveries[0].sink, "log");
  EXPECT_EQ(stored->deliveries[0].status, delivery_status::pending);
  auto g = wait<group_view>([&](auto done) { agg_->get_group("a@x.io", std::move(done)); });
  ASSERT_FALSE(g);
  EXPECT_EQ(g.err().code, errc::not_found);
  EXPECT_EQ(*db_->count_outbox(), 1U);
}

TEST_F(aggregator_test, MetricsCountWhatCommittedAndOpenGroupsStartFromStorage) {
  aggregator_options o;
  o.sinks = {"log", "file"};
  start(o);
  one(make("a@x.io", "1", priority::low, "id-1"));
  one(make("a@x.io", "1 again", priority::low, "id-1"));  // a duplicate: not applied
  one(make("b@x.io", "1"));
  one(make("c@x.io", "1"));
  one(make("c@x.io", "high", priority::high));  // completes c
  auto& m = *o.metrics;
  EXPECT_EQ(m.notifications_accepted.with({}).value(), 4U);
  EXPECT_EQ(m.notifications_duplicate.with({}).value(), 1U);
  EXPECT_EQ(m.digests_emitted.with({"priority"}).value(), 1U);
  EXPECT_EQ(m.open_groups.with({}).value(), 2);
  EXPECT_EQ(m.outbox_depth.with({"log"}).value(), 1);
  EXPECT_EQ(m.outbox_depth.with({"file"}).value(), 1);

  auto flushed = wait<digest>([&](auto done) { agg_->flush("a@x.io", std::move(done)); });
  ASSERT_TRUE(flushed);
  EXPECT_EQ(m.digests_emitted.with({"flush"}).value(), 1U);
  EXPECT_EQ(m.open_groups.with({}).value(), 1);

  // A new aggregator over the same database counts the open group it finds.
  aggregator_options again;
  start(again);
  EXPECT_EQ(again.metrics->open_groups.with({}).value(), 1);
  EXPECT_EQ(again.metrics->notifications_accepted.with({}).value(), 0U);
}

TEST_F(aggregator_test, HighPriorityCompletesTheGroup) {
  one(make("a@x.io", "low"));
  auto high = one(make("a@x.io", "high", priority::high));
  ASSERT_TRUE(high.emitted);
  EXPECT_EQ(high.emitted->reason, completion_reason::priority);
  EXPECT_EQ(high.emitted->notifications.size(), 2U);
}

// A HIGH notification for a user with no open group is emitted at once:
// the group was never stored, so the cycle writes nothing to the groups
// family, not even a delete (b's group was stored, so it leaves one).
TEST_F(aggregator_test, GroupCompletedBeforeItWasStoredLeavesNoDelete) {
  ASSERT_TRUE(one(make("a@x.io", "high", priority::high)).emitted);
  one(make("b@x.io", "low"));
  ASSERT_TRUE(one(make("b@x.io", "high", priority::high)).emitted);
  stop();
  EXPECT_TRUE(testing::versions_raw(dir_.str(), "groups", "a@x.io").empty());
  const auto b = testing::versions_raw(dir_.str(), "groups", "b@x.io");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.front().type, 0);  // RocksDB's kTypeDeletion: the newest version is the delete
}

TEST_F(aggregator_test, DuplicateIdChangesNothing) {
  EXPECT_FALSE(one(make("a@x.io", "1", priority::low, "id-1")).duplicate);
  auto again = one(make("a@x.io", "1", priority::low, "id-1"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.pending, 1U);
  // Another user may use the same Id.
  EXPECT_FALSE(one(make("b@x.io", "1", priority::low, "id-1")).duplicate);
  // A duplicate inside one array is caught too.
  auto r = ingest({make("c@x.io", "x", priority::low, "k"), make("c@x.io", "x", priority::low, "k")});
  ASSERT_TRUE(r);
  EXPECT_FALSE((*r)[0].duplicate);
  EXPECT_TRUE((*r)[1].duplicate);
  EXPECT_EQ((*r)[1].pending, 1U);
}

TEST_F(aggregator_test, IdempotencyHeaderKeyAndWindow) {
  aggregator_options o;
  o.dedupe_window = 1h;
  start(o);
  EXPECT_FALSE(one(make("a@x.io", "1"), "hdr").duplicate);
  EXPECT_TRUE(one(make("a@x.io", "1"), "hdr").duplicate);
  clock_.advance(2h);  // past the dedupe window
  auto later = one(make("a@x.io", "1"), "hdr");
  EXPECT_FALSE(later.duplicate);
  EXPECT_EQ(later.pending, 2U);
}

TEST_F(aggregator_test, DuplicateSurvivesRestart) {
  one(make("a@x.io", "1", priority::low, "id-1"));
  start();
  EXPECT_TRUE(one(make("a@x.io", "1", priority::low, "id-1")).duplicate);
}

TEST_F(aggregator_test, FlushCompletesOrAnswersNotFound) {
  auto none = wait<digest>([&](auto done) { agg_->flush("a@x.io", std::move(done)); });
  ASSERT_FALSE(none);
  EXPECT_EQ(none.err().code, errc::not_found);

  one(make("a@x.io", "1"));
  auto d = wait<digest>([&](auto done) { agg_->flush("a@x.io", std::move(done)); });
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, completion_reason::flush);
  EXPECT_EQ(d->notifications.size(), 1U);
  EXPECT_EQ(one(make("a@x.io", "2")).pending, 1U);  // a new group
}

TEST_F(aggregator_test, GroupViewShowsDueTime) {
  one(make("a@x.io", "1"));
  auto g = wait<group_view>([&](auto done) { agg_->get_group("a@x.io", std::move(done)); });
  ASSERT_TRUE(g);
  EXPECT_EQ(g->summary.count, 1U);
  ASSERT_TRUE(g->summary.due_at);
  EXPECT_EQ(*g->summary.due_at, clock_.now() + 10min);

  aggregator_options never_due;
  never_due.completion_timeout = 0ns;
  start(never_due);
  auto never = wait<group_view>([&](auto done) { agg_->get_group("a@x.io", std::move(done)); });
  ASSERT_TRUE(never);
  EXPECT_FALSE(never->summary.due_at);
}

// The strand's guarantees whether the storage thread answers at once (wal)
// or the answers wait for a shared sync (sync_after_commit, fsync).
class strand_test : public aggregator_test, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    aggregator_options o;
    o.sync_after_commit = GetParam();
    start(o);
  }
};

TEST_P(strand_test, ConcurrentPostsForOneUserApplyEachExactlyOnce) { expect_concurrent_posts_applied_once(); }

TEST_P(strand_test, OneUsersOrderIsArrivalOrder) { expect_arrival_order(); }

TEST_P(strand_test, ArraySpanningUsersAnswersInOrder) { expect_array_answers_in_order(); }

TEST_P(strand_test, ManyUsersQueuedAtOnceApplyEachOnceInOrder) {
  expect_many_users_queued_at_once_apply_once_in_order();
}

TEST_P(strand_test, OverlappingArraysApplyEachOnceInOrderAndNeverWaitForEachOther) {
  expect_overlapping_arrays_apply_each_once_in_order();
}

INSTANTIATE_TEST_SUITE_P(Modes, strand_test, ::testing::Bool(), [](const auto& mode) {
  return std::string(mode.param ? "SyncAfterCommit" : "AnswerAtCommit");
});

// A commit that queues digests tells on_queued (which wakes the dispatcher)
// before it answers: the lowest Id, and the digests as they were stored.
class queued_test : public aggregator_test, public ::testing::WithParamInterface<bool> {};

TEST_P(queued_test, ACommitHandsOverTheDigestsItQueued) {
  std::mutex m;
  std::vector<queued_digests> told;
  aggregator_options o;
  o.sync_after_commit = GetParam();
  o.on_queued = [&](queued_digests q) {
    std::lock_guard lock(m);
    told.push_back(std::move(q));
  };
  start(o);
  auto r = ingest({make("a@x.io", "1"), make("a@x.io", "2"), make("b@x.io", "3", priority::high), make("a@x.io", "4")});
  ASSERT_TRUE(r);
  ASSERT_TRUE((*r)[2].emitted);
  ASSERT_TRUE((*r)[3].emitted);
  std::lock_guard lock(m);
  std::set<std::string> made;
  for (const auto& q : told) {
    ASSERT_FALSE(q.made.empty());
    for (const auto& d : q.made) {
      EXPECT_LE(q.lowest_id, d->id);
      made.insert(d->id);
      auto stored = wait<stored_digest>([&](auto done) { agg_->get_digest(d->id, std::move(done)); });
      ASSERT_TRUE(stored);
      EXPECT_EQ(stored->d.email, d->email);
      ASSERT_EQ(stored->d.notifications.size(), d->notifications.size());
      for (std::size_t i = 0; i < d->notifications.size(); ++i)
        EXPECT_EQ(stored->d.notifications[i].text, d->notifications[i].text);
    }
  }
  EXPECT_EQ(made, (std::set<std::string>{(*r)[2].emitted->id, (*r)[3].emitted->id}));
}

INSTANTIATE_TEST_SUITE_P(Modes, queued_test, ::testing::Bool(), [](const auto& mode) {
  return std::string(mode.param ? "SyncAfterCommit" : "AnswerAtCommit");
});

TEST_F(aggregator_test, SyncedAfterCommitAnswersComeFromTheSyncingThreadOnceTheChangeIsStored) {
  aggregator_options o;
  o.sync_after_commit = true;
  start(o);
  std::promise<std::pair<std::thread::id, std::size_t>> answered;
  agg_->ingest(ingest_request{{make("a@x.io", "1")}, std::nullopt}, [&](result<std::vector<ingest_result>> r) {
    EXPECT_TRUE(r);
    auto g = db_->read_group("a@x.io");
    answered.set_value({std::this_thread::get_id(), g && *g ? (*g)->notifications.size() : 0});
  });
  const auto [thread, stored] = answered.get_future().get();
  EXPECT_NE(thread, std::this_thread::get_id());
  EXPECT_EQ(stored, 1U);
  auto flushed = wait<digest>([&](auto done) { agg_->flush("a@x.io", std::move(done)); });
  ASSERT_TRUE(flushed);
  EXPECT_EQ(flushed->notifications.size(), 1U);
}

// The users of an array go into one transaction together. When one user's
// part cannot be stored (here their stored group is unreadable), the
// others' parts are tried again on their own and stored: one user's trouble
// fails only that user's work.
TEST_F(aggregator_test, OneUsersFailureInASharedTransactionFailsOnlyThatUser) {
  one(make("b@x.io", "b0"));
  stop();
  testing::put_raw(dir_.str(), "groups", "b@x.io", "not a group");
  start();
  auto r = ingest({make("a@x.io", "a1"), make("b@x.io", "b1"), make("c@x.io", "c1", priority::high)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::storage_unavailable);
  EXPECT_NE(r.err().detail.find("b@x.io"), std::string::npos) << r.err().detail;

  auto a = wait<group_view>([&](auto done) { agg_->get_group("a@x.io", std::move(done)); });
  ASSERT_TRUE(a);
  ASSERT_EQ(a->notifications.size(), 1U);
  EXPECT_EQ(a->notifications[0].text, "a1");
  auto c = wait<std::vector<stored_digest>>(
      [&](auto done) { agg_->list_digests(std::string("c@x.io"), "", 10, std::move(done)); });
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1U);
  EXPECT_EQ((*c)[0].d.notifications[0].text, "c1");
  EXPECT_EQ(*db_->count_outbox(), 1U);  // c's digest, queued once
  auto b = db_->read_group("b@x.io");
  EXPECT_FALSE(b);  // still the unreadable value: b1 was not stored over it
}

// Cycles take no row locks: the strands order them. A transaction that
// holds a user's row lock past the lock timeout (2 s here) does not hold up
// that user's notifications.
TEST_F(aggregator_test, CyclesDoNotWaitForRowLocks) {
  one(make("b@x.io", "b0"));
  auto blocker = db_->begin();
  ASSERT_TRUE(blocker->load_group("b@x.io"));  // holds b's row lock
  auto r = ingest({make("b@x.io", "b1")});
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ((*r)[0].pending, 2U);
}

// Expired idempotency records are forgotten by jobs behind their users'
// strands; one remembered again since keeps its later expiry.
TEST_F(aggregator_test, ForgetsExpiredIdempotencyRecords) {
  aggregator_options o;
  o.dedupe_window = 1h;
  start(o);
  const auto t0 = clock_.now();
  one(make("a@x.io", "1", priority::low, "id-a"));
  one(make("b@x.io", "1", priority::low, "id-b"));
  one(make("b@x.io", "2", priority::low, "id-b2"));
  clock_.advance(90min);
  one(make("a@x.io", "1", priority::low, "id-a"));                // remembered again, until t0 + 2h30
  ASSERT_EQ(db_->expired_records(clock_.now(), 10)->size(), 3U);  // a's first, b's two

  auto forgotten = wait<std::size_t>([&](auto done) { agg_->forget_expired(std::move(done)); });
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(*forgotten, 3U);
  EXPECT_TRUE(db_->expired_records(clock_.now(), 10)->empty());
  EXPECT_EQ(db_->expired_records(t0 + 3h, 10)->size(), 1U);  // a's later one
  auto check = db_->begin();
  EXPECT_FALSE(*check->seen("b@x.io", "id-b", t0));  // gone, not just expired
  EXPECT_FALSE(*check->seen("b@x.io", "id-b2", t0));
  EXPECT_TRUE(*check->seen("a@x.io", "id-a", clock_.now()));
  check.reset();
  EXPECT_TRUE(one(make("a@x.io", "1", priority::low, "id-a")).duplicate);
}

// Forgetting reads no group: a user whose group cannot be read still has
// their expired records forgotten.
TEST_F(aggregator_test, ForgetsTheRecordsOfAUserWhoseGroupIsUnreadable) {
  aggregator_options o;
  o.dedupe_window = 1h;
  start(o);
  one(make("b@x.io", "1", priority::low, "id-b"));
  stop();
  testing::put_raw(dir_.str(), "groups", "b@x.io", "not a group");
  start(o);
  clock_.advance(2h);
  auto forgotten = wait<std::size_t>([&](auto done) { agg_->forget_expired(std::move(done)); });
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(*forgotten, 1U);
  EXPECT_TRUE(db_->expired_records(clock_.now(), 10)->empty());
}

TEST_F(aggregator_test, IdleUsersHoldNoStrand) {
  for (int i = 0; i < 500; ++i) one(make("u" + std::to_string(i) + "@x.io", "1"));
  EXPECT_EQ(agg_->active_strands(), 0U);
}

TEST_F(aggregator_test, ListsGroupsAndDigests) {
  one(make("b@x.io", "1"));
  one(make("a@x.io", "1"));
  one(make("c@x.io", "1", priority::high));
  auto groups = wait<std::vector<group_summary>>([&](auto done) { agg_->list_groups("", 10, std::move(done)); });
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 2U);
  EXPECT_EQ((*groups)[0].email, "a@x.io");
  auto digests = wait<std::vector<stored_digest>>(
      [&](auto done) { agg_->list_digests(std::string("c@x.io"), "", 10, std::move(done)); });
  ASSERT_TRUE(digests);
  ASSERT_EQ(digests->size(), 1U);
  EXPECT_EQ((*digests)[0].d.reason, completion_reason::priority);
}

TEST_F(aggregator_test, DrainRefusesNewWork) {
  one(make("a@x.io", "1"));
  agg_->drain();
  auto r = ingest({make("a@x.io", "2")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::draining);
  auto ready = wait<ok_t>([&](auto done) { agg_->check_ready(std::move(done)); });
  EXPECT_FALSE(ready);
}

TEST_F(aggregator_test, ReadyWhenStorageIsWritable) {
  auto ready = wait<ok_t>([&](auto done) { agg_->check_ready(std::move(done)); });
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace rollup

namespace rollup {
namespace {

using namespace std::chrono_literals;

class timeout_test : public ::testing::Test {
 protected:
  void start(bool sync_after_commit = false) {
    agg_.reset();
    db_.reset();
    db_ = storage::database::open({dir_.str(), false, 2000ms});
    aggregator_options o;
    o.sync_after_commit = sync_after_commit;
    o.completion_timeout = 10min;
    o.timeout_tick = 1h;  // the test calls expire_due itself (the first look runs at start)
    agg_ = std::make_unique<aggregator>(*db_, clock_, o);
  }
  void post(const std::string& email, const std::string& text) {
    notification n;
    n.email = n.correlation_id = email;
    n.text = text;
    n.time = clock_.now();
    auto r = wait<std::vector<ingest_result>>([&](auto done) {
      agg_->ingest(ingest_request{{n}, std::nullopt}, std::move(done));
    });
    ASSERT_TRUE(r);
  }
  std::size_t expire() {
    auto r = wait<std::size_t>([&](auto done) { agg_->expire_due(std::move(done)); });
    EXPECT_TRUE(r);
    return r ? *r : 0;
  }
  std::vector<stored_digest> digests() {
    auto r = wait<std::vector<stored_digest>>(
        [&](auto done) { agg_->list_digests(std::nullopt, "", 100, std::move(done)); });
    EXPECT_TRUE(r);
    return r ? *r : std::vector<stored_digest>{};
  }

  // a falls due at 10 min, b five minutes later; each is emitted once.
  void expect_each_group_completes_when_due() {
    post("a@x.io", "1");
    clock_.advance(5min);
    post("b@x.io", "1");
    clock_.advance(4min);
    EXPECT_EQ(expire(), 0U);  // a is due at 10 min
    clock_.advance(1min);
    EXPECT_EQ(expire(), 1U);  // a, not b
    auto ds = digests();
    ASSERT_EQ(ds.size(), 1U);
    EXPECT_EQ(ds[0].d.email, "a@x.io");
    EXPECT_EQ(ds[0].d.reason, completion_reason::timeout);
    EXPECT_FALSE(ds[0].d.late);
    EXPECT_EQ(expire(), 0U);  // emitted once
    clock_.advance(5min);
    EXPECT_EQ(expire(), 1U);  // now b
  }

  testing::temp_dir dir_;
  testing::fake_clock clock_;
  std::unique_ptr<storage::database> db_;
  std::unique_ptr<aggregator> agg_;
};

TEST_F(timeout_test, GroupCompletesWhenDueAndNotBefore) {
  start();
  expect_each_group_completes_when_due();
}

TEST_F(timeout_test, GroupCompletesWhenDueWithCommitsSyncedAfter) {
  start(true);
  expect_each_group_completes_when_due();
}

TEST_F(timeout_test, DueTimeIsSetByTheFirstNotificationOnly) {
  start();
  post("a@x.io", "1");
  clock_.advance(8min);
  post("a@x.io", "2");
  clock_.advance(2min);
  EXPECT_EQ(expire(), 1U);
  auto ds = digests();
  ASSERT_EQ(ds.size(), 1U);
  EXPECT_EQ(ds[0].d.notifications.size(), 2U);
}

TEST_F(timeout_test, CompletedGroupLeavesNoDeadline) {
  start();
  post("a@x.io", "1");
  post("a@x.io", "2");
  post("a@x.io", "3");  // completes by count
  clock_.advance(1h);
  EXPECT_EQ(expire(), 0U);
  auto due = db_->due_groups(clock_.now(), 10);
  ASSERT_TRUE(due);
  EXPECT_TRUE(due->empty());
}

TEST_F(timeout_test, GroupThatFellDueWhileDownIsEmittedAtStartMarkedLate) {
  start();
  post("a@x.io", "1");
  agg_.reset();  // the daemon stops
  clock_.advance(1h);
  start();  // looks for due groups at once
  std::vector<stored_digest> ds;
  for (int i = 0; i < 500 && ds.empty(); ++i) {
    ds = digests();
    if (ds.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(ds.size(), 1U);
  EXPECT_TRUE(ds[0].d.late);
  EXPECT_EQ(ds[0].d.reason, completion_reason::timeout);
}

}  // namespace
}  // namespace rollup
