// The stored form of outbox entries: written binary, and entries written as
// JSON by earlier releases still read. The old form is written with RocksDB
// directly, as an earlier rollupd left it on disk.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "rollupd/storage/database.hpp"
#include "support/temp_dir.hpp"

namespace rollup::storage {
namespace {

digest make_digest(const std::string& id, const std::string& email) {
  notification n;
  n.email = email;
  n.correlation_id = email;
  n.text = "x";
  n.time = *parse_rfc3339("2026-01-01T00:00:00Z");
  group g{email, n.time, {n}, std::nullopt};
  return complete(std::move(g), completion_reason::flush, id, n.time, false);
}

TEST(outbox_format, EntriesRoundTripAndOldJsonEntriesStillRead) {
  testing::temp_dir dir;
  const auto next = *parse_rfc3339("2026-03-04T05:06:07.123456789Z");
  {
    auto db = database::open({dir.str(), false, std::chrono::milliseconds{200}});
    auto txn = db->begin();
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000010000000000000000", "new@x.io"), {"log"}));
    ASSERT_TRUE(txn->put_digest(make_digest("00000000000000020000000000000000", "old@x.io"), {"log"}));
    ASSERT_TRUE(txn->commit());
    auto entries = db->list_outbox("log", 10);
    ASSERT_TRUE(entries);
    auto e = (*entries)[0];
    e.attempts = 7;
    e.next_attempt_at = next;
    ASSERT_TRUE(db->record_failure(e, "receiver said no"));
  }
  {
    // Rewrite the second entry in the JSON form of earlier releases.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.str(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.str(), families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* outbox = nullptr;
    for (auto* h : handles)
      if (h->GetName() == "outbox") outbox = h;
    ASSERT_NE(outbox, nullptr);
    const std::string key = std::string("log") + '\0' + "00000000000000020000000000000000";
    const std::string json = R"({"attempts":2,"email":"old@x.io","next":1767225600000000000,"v":1})";
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), outbox, key, json).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = database::open({dir.str(), false, std::chrono::milliseconds{200}});
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

}  // namespace
}  // namespace rollup::storage
