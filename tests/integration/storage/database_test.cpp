// The storage room against a real RocksDB in a fresh temp dir.
#include "rollupd/storage/database.hpp"

#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "rollupd/core/codec.hpp"
#include "support/numbered_id.hpp"
#include "support/raw_rocksdb.hpp"
#include "support/temp_dir.hpp"

namespace rollup::storage {
namespace {

notification make(const std::string& email, const std::string& text) {
  notification n;
  n.email = email;
  n.correlation_id = email;
  n.text = text;
  n.time = *parse_rfc3339("2019-08-10T15:31:47.808596Z");
  n.extra = {{"Source", "test"}};
  return n;
}

group make_group(const std::string& email, std::size_t n) {
  group g{email, *parse_rfc3339("2026-01-01T00:00:00Z"), {}, std::nullopt};
  for (std::size_t i = 0; i < n; ++i) g.notifications.push_back(make(email, "n" + std::to_string(i)));
  return g;
}

digest make_digest(const std::string& id, const std::string& email) {
  auto g = make_group(email, 3);
  return complete(std::move(g), completion_reason::count, id, *parse_rfc3339("2026-01-01T00:01:00Z"), false);
}

// The Ids of a listing, in its order.
std::vector<std::string> ids_of(const result<std::vector<digest>>& ds) {
  std::vector<std::string> out;
  for (const auto& d : *ds) out.push_back(d.id);
  return out;
}

class database_test : public ::testing::Test {
 protected:
  std::unique_ptr<database> open() { return database::open({dir_.str(), true, std::chrono::milliseconds{200}}); }
  // Digests 1 and 2, of these users, queued for the log sink in one commit.
  static void put_digests_1_and_2(database& db, const std::string& first, const std::string& second) {
    auto txn = db.begin();
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000000", first), {"log"}));
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000020000000000000000", second), {"log"}));
    ASSERT_TRUE(txn->commit());
  }
  // Opens `email`'s group of one notification, due `minutes` after
  // base_time, in a transaction of its own.
  static void open_group_due(database& db, const std::string& email, int minutes) {
    auto txn = db.begin();
    ASSERT_TRUE(txn->load_group(email));
    auto g = make_group(email, 1);
    g.due_at = base_time + std::chrono::minutes{minutes};
    ASSERT_TRUE(txn->save_group(g));
    ASSERT_TRUE(txn->commit());
  }
  static void close_group(database& db, const std::string& email) {
    auto txn = db.begin();
    ASSERT_TRUE(txn->load_group(email));
    ASSERT_TRUE(txn->delete_group(email));
    ASSERT_TRUE(txn->commit());
  }
  static inline const timestamp base_time = *parse_rfc3339("2026-01-01T00:00:00Z");
  // Writes `value` under `key` in `family` with RocksDB directly, as an
  // earlier release left it on disk (the database must be closed).
  void put_raw(const std::string& family, const std::string& key, const std::string& value) {
    testing::put_raw(dir_.str(), family, key, value);
  }
  testing::temp_dir dir_;
};

TEST_F(database_test, GroupRoundTripsThroughATransaction) {
  auto db = open();
  auto txn = db->begin();
  auto loaded = txn->load_group("a@example.com");
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(loaded->has_value());
  ASSERT_TRUE(txn->save_group(make_group("a@example.com", 2)));
  ASSERT_TRUE(txn->commit());

  auto g = db->read_group("a@example.com");
  ASSERT_TRUE(g);
  ASSERT_TRUE(g->has_value());
  EXPECT_EQ((*g)->notifications.size(), 2U);
  EXPECT_EQ((*g)->notifications[1].text, "n1");
  EXPECT_EQ((*g)->notifications[0].extra["Source"], "test");
}

TEST_F(database_test, AnUnsyncedCommitIsStoredAndSyncedOnRequest) {
  {
    auto db = open();  // sync on: only this transaction skips it
    auto txn = db->begin({.unsynced = true});
    ASSERT_TRUE(txn->save_group(make_group("a@example.com", 1)));
    ASSERT_TRUE(txn->commit());
    auto g = db->read_group("a@example.com");
    ASSERT_TRUE(g && g->has_value());
    ASSERT_TRUE(db->sync_wal());
  }
  auto g = open()->read_group("a@example.com");
  ASSERT_TRUE(g && g->has_value());
  EXPECT_EQ((*g)->notifications.size(), 1U);
}

TEST_F(database_test, ReopenedDatabaseStillHasOpenGroupsAndDigests) {
  {
    auto db = open();
    auto txn = db->begin();
    ASSERT_TRUE(txn->save_group(make_group("a@example.com", 2)));
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000001", "b@example.com"), {"log"}));
    ASSERT_TRUE(txn->commit());
  }
  auto db = open();
  auto g = db->read_group("a@example.com");
  ASSERT_TRUE(g && g->has_value());
  EXPECT_EQ((*g)->notifications.size(), 2U);
  auto d = db->read_digest("00000000000000010000000000000001");
  ASSERT_TRUE(d && d->has_value());
  EXPECT_EQ((*d)->email, "b@example.com");
  EXPECT_EQ((*d)->notifications.size(), 3U);
  auto outbox = db->count_outbox();
  ASSERT_TRUE(outbox);
  EXPECT_EQ(*outbox, 1U);
}

TEST_F(database_test, UncommittedTransactionLeavesNothingBehind) {
  auto db = open();
  {
    auto txn = db->begin();
    ASSERT_TRUE(txn->save_group(make_group("a@example.com", 1)));
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000001", "a@example.com"), {"log"}));
    ASSERT_TRUE(txn->remember("a@example.com", "key-1", *parse_rfc3339("2030-01-01T00:00:00Z")));
  }  // destroyed without commit
  EXPECT_FALSE(db->read_group("a@example.com")->has_value());
  EXPECT_FALSE(db->read_digest("00000000000000010000000000000001")->has_value());
  EXPECT_EQ(*db->count_outbox(), 0U);
  auto txn = db->begin();
  EXPECT_FALSE(*txn->seen("a@example.com", "key-1", *parse_rfc3339("2026-01-01T00:00:00Z")));
}

TEST_F(database_test, FailedCycleLeavesNothingHalfWritten) {
  auto db = open();
  auto holder = db->begin();
  ASSERT_TRUE(holder->load_group("a@example.com"));  // holds the row lock

  auto txn = db->begin();
  ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000002", "a@example.com"), {"log"}));
  auto loaded = txn->load_group("a@example.com");  // times out on the lock
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.err().code, errc::storage_unavailable);
  txn.reset();  // the cycle gives up: rolled back
  holder.reset();

  EXPECT_FALSE(db->read_digest("00000000000000010000000000000002")->has_value());
  EXPECT_EQ(*db->count_outbox(), 0U);
  auto all = db->list_digests(std::nullopt, "", 10);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(database_test, DeleteGroupRemovesIt) {
  auto db = open();
  auto txn = db->begin();
  ASSERT_TRUE(txn->save_group(make_group("a@example.com", 1)));
  ASSERT_TRUE(txn->commit());
  auto txn2 = db->begin();
  ASSERT_TRUE(txn2->delete_group("a@example.com"));
  ASSERT_TRUE(txn2->commit());
  EXPECT_FALSE(db->read_group("a@example.com")->has_value());
}

TEST_F(database_test, ListGroupsIsOrderedAndPaginated) {
  auto db = open();
  auto txn = db->begin();
  for (const char* e : {"c@x.io", "a@x.io", "b@x.io", "d@x.io"}) ASSERT_TRUE(txn->save_group(make_group(e, 1)));
  ASSERT_TRUE(txn->commit());

  auto page1 = db->list_groups("", 3);
  ASSERT_TRUE(page1);
  ASSERT_EQ(page1->size(), 3U);
  EXPECT_EQ((*page1)[0].correlation_id, "a@x.io");
  EXPECT_EQ((*page1)[2].correlation_id, "c@x.io");
  auto page2 = db->list_groups("c@x.io", 3);
  ASSERT_TRUE(page2);
  ASSERT_EQ(page2->size(), 1U);
  EXPECT_EQ((*page2)[0].correlation_id, "d@x.io");
}

// The open groups' memtable is hashed by key; counting them must still see
// every group, and not one deleted.
TEST_F(database_test, CountsTheOpenGroups) {
  auto db = open();
  auto txn = db->begin();
  for (const char* e : {"c@x.io", "a@x.io", "b@x.io", "d@x.io"}) ASSERT_TRUE(txn->save_group(make_group(e, 1)));
  ASSERT_TRUE(txn->commit());
  auto txn2 = db->begin();
  ASSERT_TRUE(txn2->load_group("b@x.io"));
  ASSERT_TRUE(txn2->delete_group("b@x.io"));
  ASSERT_TRUE(txn2->commit());
  auto n = db->count_groups();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3U);
}

TEST_F(database_test, ListDigestsNewestFirstPerEmailAndPaginated) {
  auto db = open();
  auto txn = db->begin();
  ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000000", "a@x.io"), {"log"}));
  ASSERT_TRUE(txn->put_digest(make_digest("00000000000000020000000000000000", "b@x.io"), {"log"}));
  ASSERT_TRUE(txn->put_digest(make_digest("00000000000000030000000000000000", "a@x.io"), {"log"}));
  ASSERT_TRUE(txn->put_digest(make_digest("00000000000000040000000000000000", "ab@x.io"), {"log"}));
  ASSERT_TRUE(txn->commit());

  auto all = db->list_digests(std::nullopt, "", 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4U);
  EXPECT_EQ((*all)[0].id, "00000000000000040000000000000000");
  EXPECT_EQ((*all)[3].id, "00000000000000010000000000000000");

  auto mine = db->list_digests(std::string("a@x.io"), "", 10);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2U);  // not ab@x.io's
  EXPECT_EQ((*mine)[0].id, "00000000000000030000000000000000");
  EXPECT_EQ((*mine)[1].id, "00000000000000010000000000000000");

  auto page = db->list_digests(std::string("a@x.io"), "00000000000000030000000000000000", 10);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 1U);
  EXPECT_EQ((*page)[0].id, "00000000000000010000000000000000");

  auto first2 = db->list_digests(std::nullopt, "", 2);
  ASSERT_EQ(first2->size(), 2U);
  auto next2 = db->list_digests(std::nullopt, first2->back().id, 2);
  ASSERT_EQ(next2->size(), 2U);
  EXPECT_EQ((*next2)[0].id, "00000000000000020000000000000000");
}

// A user's index is read forward within their prefix (its memtable is
// hashed by user): from the memtable and from table files on disk alike,
// never another user's, whose email starts with theirs.
TEST_F(database_test, ListsAUsersDigestsFromMemoryAndFromDisk) {
  auto db = open();
  const auto id = testing::numbered_id;
  auto put = [&](int from, int to) {
    auto txn = db->begin();
    for (int n = from; n <= to; ++n) {
      ASSERT_TRUE(txn->put_digest(make_digest(id(n), n % 2 ? "a@x.io" : "a@x.io.evil"), {"log"}));
    }
    ASSERT_TRUE(txn->commit());
  };
  put(1, 4);
  ASSERT_TRUE(db->checkpoint_to(dir_.str() + "/checkpoint"));  // flushes the memtables to table files
  put(5, 8);

  const auto ids = ids_of;
  auto mine = db->list_digests(std::string("a@x.io"), "", 10);
  ASSERT_TRUE(mine);
  EXPECT_EQ(ids(mine), (std::vector<std::string>{id(7), id(5), id(3), id(1)}));
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), "", 3)), (std::vector<std::string>{id(7), id(5), id(3)}));
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), id(5), 10)), (std::vector<std::string>{id(3), id(1)}));
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), id(6), 1)), (std::vector<std::string>{id(5)}));
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io.evil"), "", 10)),
            (std::vector<std::string>{id(8), id(6), id(4), id(2)}));
  EXPECT_TRUE(db->list_digests(std::string("a@x.io"), id(1), 10)->empty());
  EXPECT_TRUE(db->list_digests(std::string("nobody@x.io"), "", 10)->empty());
  // A cursor that is not an Id: the Ids below it, as when listing all users.
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), id(5) + "x", 10)),
            (std::vector<std::string>{id(5), id(3), id(1)}));
  EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), id(5).substr(0, 16), 10)),
            (std::vector<std::string>{id(3), id(1)}));
  EXPECT_EQ(ids(db->list_digests(std::nullopt, id(5) + "x", 10)),
            (std::vector<std::string>{id(5), id(4), id(3), id(2), id(1)}));
  EXPECT_EQ(ids(db->list_digests(std::nullopt, id(5).substr(0, 16), 10)),
            (std::vector<std::string>{id(4), id(3), id(2), id(1)}));
}

// A page of one user's digests reads its own entries of their index, not
// every older one: RocksDB's own count of the steps its iterators took over
// the index's memtable, where all of it is here.
TEST_F(database_test, APageOfAUsersDigestsReadsOnlyItsOwnEntries) {
  auto db = open();
  const auto id = testing::numbered_id;
  {
    auto txn = db->begin();
    for (std::uint64_t n = 0; n < 1000; ++n) ASSERT_TRUE(txn->put_digest(make_digest(id(n), "a@x.io"), {"log"}));
    ASSERT_TRUE(txn->put_digest(make_digest(id(1000), "b@x.io"), {"log"}));
    ASSERT_TRUE(txn->commit());
  }
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  const auto page = [&](const std::string& after) {
    rocksdb::get_perf_context()->Reset();
    const auto ds = db->list_digests(std::string("a@x.io"), after, 10);
    return std::pair{ids_of(ds), rocksdb::get_perf_context()->next_on_memtable_count};
  };
  const auto ids = [&](std::uint64_t from) {
    std::vector<std::string> out;
    for (auto n = from; n > from - 10; --n) out.push_back(id(n));
    return out;
  };
  const auto [first, first_steps] = page("");
  const auto [middle, middle_steps] = page(id(500));
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(first, ids(999));
  EXPECT_EQ(middle, ids(499));
  EXPECT_LE(first_steps, 20U);  // ten entries and the next one; every older one would be 1,000
  EXPECT_LE(middle_steps, 20U);
}

// Earlier releases keyed each user's digest index by the Id as it is, oldest
// first. Opening such a database rewrites its keys (put back here with
// RocksDB directly), also when a rewrite was cut short and left some keys
// rewritten, and it lists and pages as before.
TEST_F(database_test, ADigestIndexOfEarlierReleasesIsRewrittenNewestFirst) {
  const auto id = testing::numbered_id;
  const auto user = [](int n) { return std::string(n % 2 ? "a@x.io" : "b@x.io"); };
  const auto inverted = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(~static_cast<unsigned char>(c));
    return s;
  };
  {
    auto db = open();
    auto txn = db->begin();
    for (int n = 1; n <= 6; ++n) ASSERT_TRUE(txn->put_digest(make_digest(id(n), user(n)), {"log"}));
    ASSERT_TRUE(txn->commit());
  }
  std::vector<std::string> newest_first;  // the keys as this release writes them
  for (int n = 1; n <= 6; ++n) newest_first.push_back(user(n) + '\0' + inverted(id(n)));
  std::sort(newest_first.begin(), newest_first.end());
  ASSERT_EQ(testing::keys_raw(dir_.str(), "digests_by_email"), newest_first);

  testing::with_raw_family(dir_.str(), "digests_by_email", [&](rocksdb::DB& raw, rocksdb::ColumnFamilyHandle* h) {
    for (int n = 1; n <= 4; ++n) {  // 5 and 6 stay rewritten
      ASSERT_TRUE(raw.Delete(rocksdb::WriteOptions(), h, user(n) + '\0' + inverted(id(n))).ok());
      ASSERT_TRUE(raw.Put(rocksdb::WriteOptions(), h, user(n) + '\0' + id(n), "").ok());
    }
  });
  testing::with_raw_family(dir_.str(), "meta", [](rocksdb::DB& raw, rocksdb::ColumnFamilyHandle* h) {
    ASSERT_TRUE(raw.Delete(rocksdb::WriteOptions(), h, "digest_index").ok());
  });

  const auto ids = ids_of;
  for (int reopening = 0; reopening < 2; ++reopening) {  // the second open finds the rewrite done
    auto db = open();
    EXPECT_EQ(ids(db->list_digests(std::string("a@x.io"), "", 10)), (std::vector<std::string>{id(5), id(3), id(1)}));
    EXPECT_EQ(ids(db->list_digests(std::string("b@x.io"), "", 10)), (std::vector<std::string>{id(6), id(4), id(2)}));
    EXPECT_EQ(ids(db->list_digests(std::string("b@x.io"), id(6), 1)), (std::vector<std::string>{id(4)}));
    db.reset();
    EXPECT_EQ(testing::keys_raw(dir_.str(), "digests_by_email"), newest_first);
  }
}

TEST_F(database_test, DedupeRecordsExpireAndAreForgotten) {
  auto db = open();
  const auto t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
  auto txn = db->begin();
  ASSERT_TRUE(txn->remember("b@x.io", "k1", t0 + std::chrono::hours{1}));
  ASSERT_TRUE(txn->remember("a@x.io", "k1", t0 + std::chrono::minutes{30}));
  ASSERT_TRUE(txn->remember("a@x.io", "k2", t0 + std::chrono::hours{3}));
  ASSERT_TRUE(txn->commit());

  {
    auto check = db->begin();
    EXPECT_TRUE(*check->seen("a@x.io", "k1", t0));
    EXPECT_FALSE(*check->seen("a@x.io", "k1", t0 + std::chrono::hours{2}));  // expired counts as unseen
    EXPECT_FALSE(*check->seen("c@x.io", "k1", t0));                          // per user
  }
  auto expired = db->expired_records(t0 + std::chrono::hours{2}, 100);
  ASSERT_TRUE(expired);
  ASSERT_EQ(expired->size(), 2U);  // earliest first
  EXPECT_EQ((*expired)[0].correlation_id, "a@x.io");
  EXPECT_EQ((*expired)[0].key, "k1");
  EXPECT_EQ((*expired)[0].expires_at, t0 + std::chrono::minutes{30});
  EXPECT_EQ((*expired)[1].correlation_id, "b@x.io");
  EXPECT_EQ(db->expired_records(t0 + std::chrono::hours{2}, 1)->size(), 1U);  // at most `max`

  auto forget = db->begin();
  for (const auto& r : *expired) ASSERT_TRUE(forget->forget(r.correlation_id, r.key, r.expires_at));
  ASSERT_TRUE(forget->commit());
  auto check = db->begin();
  EXPECT_FALSE(*check->seen("a@x.io", "k1", t0));  // gone from disk
  EXPECT_FALSE(*check->seen("b@x.io", "k1", t0));
  EXPECT_TRUE(*check->seen("a@x.io", "k2", t0));  // not yet due
  EXPECT_TRUE(db->expired_records(t0 + std::chrono::hours{2}, 100)->empty());
  EXPECT_EQ(db->expired_records(t0 + std::chrono::hours{3}, 100)->size(), 1U);
}

TEST_F(database_test, ForgettingKeepsARecordRememberedAgainLater) {
  auto db = open();
  const auto t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
  for (auto exp : {t0 + std::chrono::hours{1}, t0 + std::chrono::hours{5}}) {
    auto txn = db->begin();
    ASSERT_TRUE(txn->remember("a@x.io", "k", exp));
    ASSERT_TRUE(txn->commit());
  }
  auto expired = db->expired_records(t0 + std::chrono::hours{2}, 100);
  ASSERT_TRUE(expired);
  ASSERT_EQ(expired->size(), 1U);
  auto forget = db->begin();
  ASSERT_TRUE(forget->forget("a@x.io", "k", (*expired)[0].expires_at));
  ASSERT_TRUE(forget->commit());
  auto check = db->begin();
  EXPECT_TRUE(*check->seen("a@x.io", "k", t0 + std::chrono::hours{3}));
  EXPECT_TRUE(db->expired_records(t0 + std::chrono::hours{2}, 100)->empty());  // the old index entry went
}

// A cycle's transaction without row locks neither waits for a lock another
// transaction holds nor takes one (the aggregator's strands order cycles).
TEST_F(database_test, ATransactionWithoutRowLocksNeitherWaitsNorLocks) {
  auto db = open();
  auto holder = db->begin();
  ASSERT_TRUE(holder->load_group("a@x.io"));  // holds a's row lock

  auto unlocked = db->begin({.row_locks = false});
  ASSERT_TRUE(unlocked->load_group("a@x.io"));  // does not wait for the holder
  ASSERT_TRUE(unlocked->save_group(make_group("a@x.io", 1)));
  ASSERT_TRUE(unlocked->load_group("b@x.io"));
  ASSERT_TRUE(unlocked->save_group(make_group("b@x.io", 2)));
  {
    auto locking = db->begin();
    EXPECT_TRUE(locking->load_group("b@x.io"));   // read and written above, yet not locked
    EXPECT_FALSE(locking->load_group("a@x.io"));  // the holder's lock still counts for others
  }
  ASSERT_TRUE(unlocked->commit());
  auto a = db->read_group("a@x.io");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((*a)->notifications.size(), 1U);
  auto b = db->read_group("b@x.io");
  ASSERT_TRUE(b && b->has_value());
  EXPECT_EQ((*b)->notifications.size(), 2U);
}

TEST_F(database_test, WalModeOpensAndCommits) {
  auto db = database::open({dir_.str(), false, std::chrono::milliseconds{200}});
  auto txn = db->begin();
  ASSERT_TRUE(txn->save_group(make_group("a@x.io", 1)));
  ASSERT_TRUE(txn->commit());
  EXPECT_TRUE(db->probe_write());
}

TEST_F(database_test, OpenFailsClearlyOnAFile) {
  const auto file = dir_.path() / "not-a-dir";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  EXPECT_THROW(database::open({file.string(), true, std::chrono::milliseconds{200}}), std::runtime_error);
}

}  // namespace
}  // namespace rollup::storage

namespace rollup::storage {
namespace {

TEST_F(database_test, DeadlineIndexFollowsTheGroup) {
  auto db = open();
  const auto t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
  for (auto [email, minutes] : {std::pair{"late@x.io", 30}, std::pair{"early@x.io", 10}, std::pair{"none@x.io", -1}}) {
    auto txn = db->begin();
    ASSERT_TRUE(txn->load_group(email));
    auto g = make_group(email, 1);
    if (minutes >= 0) g.due_at = t0 + std::chrono::minutes{minutes};
    ASSERT_TRUE(txn->save_group(g));
    ASSERT_TRUE(txn->commit());
  }
  auto due = db->due_groups(t0 + std::chrono::hours{1}, 10);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, (std::vector<std::string>{"early@x.io", "late@x.io"}));  // earliest first
  EXPECT_EQ(*db->due_groups(t0 + std::chrono::minutes{10}, 10), std::vector<std::string>{"early@x.io"});
  EXPECT_TRUE(db->due_groups(t0, 10)->empty());

  auto txn = db->begin();
  ASSERT_TRUE(txn->load_group("early@x.io"));
  ASSERT_TRUE(txn->delete_group("early@x.io"));
  ASSERT_TRUE(txn->commit());
  EXPECT_EQ(*db->due_groups(t0 + std::chrono::hours{1}, 10), std::vector<std::string>{"late@x.io"});
}

// A closed group's deadline entry stays until it falls due; the first look
// for due groups after that removes it, and keeps the entries of open groups.
TEST_F(database_test, StaleDeadlinesAreRemovedOnceDue) {
  {
    auto db = open();
    open_group_due(*db, "a@x.io", 10);
    close_group(*db, "a@x.io");
    open_group_due(*db, "a@x.io", 30);
    open_group_due(*db, "b@x.io", 20);
    open_group_due(*db, "c@x.io", 22);  // stale after b's live entry
    close_group(*db, "c@x.io");
  }
  EXPECT_EQ(testing::keys_raw(dir_.str(), "deadlines").size(), 4U);  // the closed groups' entries are still there
  {
    auto db = open();
    EXPECT_TRUE(db->due_groups(base_time + std::chrono::minutes{5}, 10)->empty());
    EXPECT_EQ(*db->due_groups(base_time + std::chrono::minutes{25}, 10), std::vector<std::string>{"b@x.io"});
    EXPECT_EQ(*db->due_groups(base_time + std::chrono::minutes{25}, 10), std::vector<std::string>{"b@x.io"});
  }
  const auto keys = testing::keys_raw(dir_.str(), "deadlines");
  ASSERT_EQ(keys.size(), 2U);  // a's entry of 10 minutes and c's are gone
  EXPECT_TRUE(keys[0].ends_with("b@x.io"));
  EXPECT_TRUE(keys[1].ends_with("a@x.io"));

  auto db = open();
  EXPECT_EQ(*db->due_groups(base_time + std::chrono::hours{1}, 10), (std::vector<std::string>{"b@x.io", "a@x.io"}));
}

// A look for due groups starts after the stale entries it removed before,
// yet finds an entry written later with an earlier due time (a group opened
// while timeouts were off gets one in the past).
TEST_F(database_test, ADeadlineWrittenInThePastIsStillFound) {
  auto db = open();
  open_group_due(*db, "a@x.io", 10);
  close_group(*db, "a@x.io");
  EXPECT_TRUE(db->due_groups(base_time + std::chrono::minutes{20}, 10)->empty());  // removes a's entry

  open_group_due(*db, "old@x.io", 5);
  EXPECT_EQ(*db->due_groups(base_time + std::chrono::minutes{20}, 10), std::vector<std::string>{"old@x.io"});
  EXPECT_EQ(*db->due_groups(base_time + std::chrono::minutes{21}, 10), std::vector<std::string>{"old@x.io"});
}

// Group and deadline writes skip the transaction's index of its own writes;
// the transaction still reads its own groups back, and the deadline index
// ends as the last write left it.
TEST_F(database_test, ATransactionReadsBackTheGroupsItWrote) {
  auto db = open();
  const auto t0 = *parse_rfc3339("2026-01-01T00:00:00Z");
  for (const bool rows_locked : {true, false}) {
    const std::string email = rows_locked ? "locked@x.io" : "unlocked@x.io";
    auto txn = db->begin({.unsynced = false, .row_locks = rows_locked});
    ASSERT_TRUE(txn->load_group(email));
    auto g = make_group(email, 1);
    g.due_at = t0 + std::chrono::minutes{10};
    ASSERT_TRUE(txn->save_group(g));

    auto again = txn->load_group(email);
    ASSERT_TRUE(again);
    ASSERT_TRUE(again->has_value());
    EXPECT_EQ((*again)->notifications.size(), 1U);
    EXPECT_EQ((*again)->due_at, g.due_at);

    ASSERT_TRUE(txn->delete_group(email));
    auto gone = txn->load_group(email);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(gone->has_value());

    g.notifications.push_back(make(email, "later"));
    g.due_at = t0 + std::chrono::minutes{20};
    ASSERT_TRUE(txn->save_group(g));
    ASSERT_TRUE(txn->commit());

    auto stored = db->read_group(email);
    ASSERT_TRUE(stored);
    ASSERT_TRUE(stored->has_value());
    EXPECT_EQ((*stored)->notifications.size(), 2U);
    EXPECT_TRUE(db->due_groups(t0 + std::chrono::minutes{15}, 10)->empty());
    EXPECT_EQ(*db->due_groups(t0 + std::chrono::minutes{20}, 10), std::vector<std::string>{email});
    auto close = db->begin();
    ASSERT_TRUE(close->load_group(email));
    ASSERT_TRUE(close->delete_group(email));
    ASSERT_TRUE(close->commit());
  }
}

TEST_F(database_test, ListOutboxStartsAtTheIdItIsGiven) {
  auto db = open();
  {
    auto txn = db->begin();
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000000", "a@x.io"), {"log", "file"}));
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000030000000000000000", "b@x.io"), {"log", "file"}));
    ASSERT_TRUE(txn->commit());
  }
  const auto ids = [&](const std::string& from) {
    std::vector<std::string> out;
    const auto entries = db->list_outbox("file", 10, from);
    for (const auto& e : *entries) out.push_back(e.digest_id);
    return out;
  };
  EXPECT_EQ(ids(""),
            (std::vector<std::string>{"00000000000000010000000000000000", "00000000000000030000000000000000"}));
  EXPECT_EQ(ids("00000000000000010000000000000000"),
            (std::vector<std::string>{"00000000000000010000000000000000", "00000000000000030000000000000000"}));
  EXPECT_EQ(ids("00000000000000020000000000000000"), std::vector<std::string>{"00000000000000030000000000000000"});
  EXPECT_TRUE(ids("00000000000000040000000000000000").empty());  // and not the next sink's entries
  EXPECT_EQ(db->list_outbox("log", 10, "00000000000000020000000000000000")->size(), 1U);
}

// Outbox entries are written binary; those that earlier releases wrote as
// JSON (written here with RocksDB directly, as they were left on disk) still read.
TEST_F(database_test, OutboxEntriesRoundTripAndOldJsonEntriesStillRead) {
  const auto next = *parse_rfc3339("2026-03-04T05:06:07.123456789Z");
  {
    auto db = open();
    put_digests_1_and_2(*db, "new@x.io", "old@x.io");
    auto entries = db->list_outbox("log", 10);
    ASSERT_TRUE(entries);
    auto e = (*entries)[0];
    e.attempts = 7;
    e.next_attempt_at = next;
    ASSERT_TRUE(db->record_failure(e, "receiver said no"));
  }
  // The second entry in the JSON form of earlier releases.
  put_raw("outbox", std::string("log") + '\0' + "00000000000000020000000000000000",
          R"({"attempts":2,"email":"old@x.io","next":1767225600000000000,"v":1})");
  auto db = open();
  auto entries = db->list_outbox("log", 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].email, "new@x.io");
  EXPECT_EQ((*entries)[0].attempts, 7);
  EXPECT_EQ((*entries)[0].next_attempt_at, next);
  EXPECT_EQ((*entries)[1].email, "old@x.io");
  EXPECT_EQ((*entries)[1].attempts, 2);
  EXPECT_EQ((*entries)[1].next_attempt_at, *parse_rfc3339("2026-01-01T00:00:00Z"));
}

// Groups, digests and delivery states are written binary; those that earlier
// releases wrote as JSON (put here with RocksDB directly) still read, and
// the daemon goes on with them: a cycle on the group, a delivery of the digest.
TEST_F(database_test, GroupsDigestsAndDeliveryStatesOfEarlierReleasesStillRead) {
  const std::string id = "00000000000000010000000000000000";
  const auto d = make_digest(id, "a@x.io");
  const auto g = make_group("c@x.io", 2);
  { put_digests_1_and_2(*open(), "a@x.io", "b@x.io"); }
  nlohmann::json ns = nlohmann::json::array();
  for (const auto& n : g.notifications) ns.push_back(to_json(n));
  put_raw("groups", "c@x.io",
          nlohmann::json{{"v", 1}, {"cid", "c@x.io"}, {"first", to_nanos(g.first_received_at)}, {"n", ns}}.dump());
  put_raw("digests", id, nlohmann::json{{"v", 1}, {"digest", to_json(d)}}.dump());
  put_raw("deliveries", id + '\0' + "log",
          R"({"v":1,"sink":"log","status":0,"attempts":2,"error":"receiver said no","next":1767225600000000000})");

  auto db = open();
  const auto group_read = db->read_group("c@x.io");
  ASSERT_TRUE(group_read && *group_read);
  EXPECT_EQ((*group_read)->notifications.size(), 2U);
  EXPECT_EQ((*group_read)->notifications[1].text, "n1");
  EXPECT_EQ((*group_read)->notifications[1].extra, nlohmann::json({{"Source", "test"}}));
  const auto digest_read = db->read_digest(id);
  ASSERT_TRUE(digest_read && *digest_read);
  EXPECT_EQ(to_json(**digest_read), to_json(d));
  const auto states = db->read_deliveries(id);
  ASSERT_TRUE(states);
  ASSERT_EQ(states->size(), 1U);
  EXPECT_EQ((*states)[0].attempts, 2);
  EXPECT_EQ((*states)[0].last_error, "receiver said no");

  {
    auto txn = db->begin();
    auto loaded = txn->load_group("c@x.io");
    ASSERT_TRUE(loaded && *loaded);
    (*loaded)->notifications.push_back(make("c@x.io", "n2"));
    ASSERT_TRUE(txn->save_group(**loaded));
    ASSERT_TRUE(txn->commit());
  }
  EXPECT_EQ((*db->read_group("c@x.io"))->notifications.size(), 3U);
  const auto entries = db->list_outbox("log", 1);
  ASSERT_TRUE(entries && entries->size() == 1U);
  ASSERT_TRUE(db->retire((*entries)[0], *parse_rfc3339("2026-01-02T00:00:00Z")));
  const auto after = db->read_deliveries(id);
  ASSERT_TRUE(after && after->size() == 1U);
  EXPECT_EQ((*after)[0].status, delivery_status::delivered);
  EXPECT_EQ((*after)[0].last_error, "receiver said no");  // kept from the state as read
}

// The dispatcher retires what one pass delivered in one call: all of it in
// one transaction, or, when any entry cannot be retired, none of it.
TEST_F(database_test, RetiresSeveralEntriesTogetherOrNone) {
  auto db = open();
  put_digests_1_and_2(*db, "a@x.io", "b@x.io");
  auto outbox = db->list_outbox("log", 10);
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 2U);
  (*outbox)[0].attempts = 1;
  (*outbox)[1].attempts = 4;
  const auto at = *parse_rfc3339("2026-01-02T00:00:00Z");
  {
    // Another transaction holds digest 2's delivery state (its writes lock
    // the keys) past the lock timeout: nothing is retired, digest 1 neither.
    auto blocker = db->begin();
    ASSERT_TRUE(blocker->put_digest(make_digest("00000000000000020000000000000000", "b@x.io"), {"log"}));
    EXPECT_FALSE(db->retire(*outbox, at));
  }
  auto left = db->list_outbox("log", 10);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->size(), 2U);

  ASSERT_TRUE(db->retire(*outbox, at));
  EXPECT_EQ(*db->count_outbox(), 0U);
  for (const auto& e : *outbox) {
    const auto states = db->read_deliveries(e.digest_id);
    ASSERT_TRUE(states && states->size() == 1U);
    EXPECT_EQ((*states)[0].status, delivery_status::delivered);
    EXPECT_EQ((*states)[0].attempts, e.attempts);
    EXPECT_EQ((*states)[0].delivered_at, at);
  }
}

// A delivery confirmed at its first attempt since it was queued is written
// whole, without reading its old state: after a redelivery, the error that
// dead-lettered it belongs to attempts no longer counted, and goes.
TEST_F(database_test, RetiringAFirstAttemptWritesTheWholeState) {
  auto db = open();
  put_digests_1_and_2(*db, "a@x.io", "b@x.io");
  auto outbox = db->list_outbox("log", 10);
  ASSERT_TRUE(outbox && outbox->size() == 2U);
  auto failed = (*outbox)[0];
  failed.attempts = 5;
  ASSERT_TRUE(db->dead_letter(failed, "receiver said no"));
  const auto now = *parse_rfc3339("2026-01-02T00:00:00Z");
  const auto requeued = db->redeliver(failed.digest_id, now);
  ASSERT_TRUE(requeued && *requeued == std::vector<std::string>{"log"});

  outbox = db->list_outbox("log", 10);
  ASSERT_TRUE(outbox && outbox->size() == 2U);
  for (auto& e : *outbox) {
    EXPECT_EQ(e.attempts, 0);
    e.attempts = 1;
  }
  const auto at = *parse_rfc3339("2026-01-02T00:00:01Z");
  ASSERT_TRUE(db->retire(*outbox, at));
  EXPECT_EQ(*db->count_outbox(), 0U);
  for (const auto& e : *outbox) {
    const auto states = db->read_deliveries(e.digest_id);
    ASSERT_TRUE(states && states->size() == 1U);
    const auto& st = (*states)[0];
    EXPECT_EQ(st.sink, "log");
    EXPECT_EQ(st.status, delivery_status::delivered);
    EXPECT_EQ(st.attempts, 1);
    EXPECT_EQ(st.last_error, "");
    EXPECT_FALSE(st.next_attempt_at);
    EXPECT_EQ(st.delivered_at, at);
  }
}

// Two redeliveries of one dead digest at once queue it once: the second
// finds it pending again, answers that nothing was queued, and so the
// outbox depth the caller adds up counts the entry once.
TEST_F(database_test, ConcurrentRedeliveriesQueueADeadDigestOnce) {
  auto db = open();
  const auto now = *parse_rfc3339("2026-01-02T00:00:00Z");
  for (int round = 0; round < 40; ++round) {
    const std::string id = "000000000000000" + std::to_string(100 + round) + "00000000000000";
    {
      auto txn = db->begin();
      ASSERT_TRUE(txn->put_digest(make_digest(id, "a@x.io"), {"log"}));
      ASSERT_TRUE(txn->commit());
    }
    storage::outbox_entry e{"log", id, "a@x.io", 5, now};
    ASSERT_TRUE(db->dead_letter(e, "receiver said no"));

    std::atomic<int> ready{0};
    std::array<std::size_t, 2> queued{};
    std::vector<std::thread> callers;
    for (std::size_t t = 0; t < 2; ++t)
      callers.emplace_back([&, t] {
        ++ready;
        while (ready.load() < 2) {
        }
        const auto sinks = db->redeliver(id, now);
        ASSERT_TRUE(sinks) << sinks.err().detail;
        queued[t] = sinks->size();
      });
    for (auto& c : callers) c.join();
    EXPECT_EQ(queued[0] + queued[1], 1U) << "round " << round;
    const auto states = db->read_deliveries(id);
    ASSERT_TRUE(states && states->size() == 1U);
    EXPECT_EQ((*states)[0].status, delivery_status::pending);
  }
}

TEST_F(database_test, PruneDigestsKeepsUndeliveredAndYoung) {
  auto db = open();
  const auto old_time = *parse_rfc3339("2026-01-01T00:01:00Z");  // make_digest's emitted_at
  put_digests_1_and_2(*db, "a@x.io", "a@x.io");
  auto outbox = db->list_outbox("log", 10);
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 2U);
  auto first = (*outbox)[0];
  first.attempts = 1;
  ASSERT_TRUE(db->retire(first, old_time));

  auto pruned = db->prune_digests(old_time + std::chrono::hours{24 * 8}, 100);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 1U);  // the delivered one; the pending one stays
  EXPECT_FALSE(db->read_digest("00000000000000010000000000000000")->has_value());
  EXPECT_TRUE(db->read_digest("00000000000000020000000000000000")->has_value());
  EXPECT_TRUE(db->read_deliveries("00000000000000010000000000000000")->empty());
  EXPECT_EQ(db->list_digests(std::string("a@x.io"), "", 10)->size(), 1U);
  EXPECT_EQ(*db->prune_digests(old_time, 100), 0U);  // nothing older than the cutoff
  db.reset();
  EXPECT_EQ(testing::keys_raw(dir_.str(), "digests_by_email").size(), 1U);  // its index entry went too
}

}  // namespace
}  // namespace rollup::storage

namespace rollup::storage {
namespace {

TEST_F(database_test, CheckpointIsAConsistentCopy) {
  const auto copy = (dir_.path() / "checkpoints" / "one").string();
  {
    auto db = open();
    auto txn = db->begin();
    ASSERT_TRUE(txn->load_group("a@x.io"));
    ASSERT_TRUE(txn->save_group(make_group("a@x.io", 2)));
    ASSERT_TRUE(txn->commit());
    ASSERT_TRUE(db->checkpoint_to(copy));
    auto again = db->checkpoint_to(copy);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.err().code, errc::conflict);
  }
  auto restored = database::open({copy, true, std::chrono::milliseconds{200}});
  auto g = restored->read_group("a@x.io");
  ASSERT_TRUE(g && g->has_value());
  EXPECT_EQ((*g)->notifications.size(), 2U);
}

// README (Storage): RocksDB's flushes run at nice 19. The thread that ran
// the flush a checkpoint asks for shows it.
TEST_F(database_test, FlushesRunAtTheLowestCpuPriority) {
  auto db = open();
  auto txn = db->begin();
  ASSERT_TRUE(txn->load_group("a@x.io"));
  ASSERT_TRUE(txn->save_group(make_group("a@x.io", 1)));
  ASSERT_TRUE(txn->commit());
  ASSERT_TRUE(db->checkpoint_to(dir_.str() + "/checkpoint"));  // flushes the memtables, and waits for it

  std::vector<int> nice_of_flush_threads;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    if (name != "rocksdb:high") continue;
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename().string())));
    ASSERT_EQ(errno, 0);
    nice_of_flush_threads.push_back(nice);
  }
  EXPECT_EQ(nice_of_flush_threads, std::vector<int>{19});
}

}  // namespace
}  // namespace rollup::storage
