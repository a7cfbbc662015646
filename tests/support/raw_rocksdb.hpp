#pragma once
// Writes to a closed rollupd database with RocksDB itself, as an earlier
// release or a damaged disk may have left it: for tests of what rollupd
// does with what it finds.

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

namespace rollup::testing {

// Writes `value` under `key` in `family` of the database in `dir` (which
// rollupd must have created, and must not have open).
inline void put_raw(const std::string& dir, const std::string& family, const std::string& key,
                    const std::string& value) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* target = nullptr;
  for (auto* h : handles)
    if (h->GetName() == family) target = h;
  EXPECT_NE(target, nullptr) << family;
  if (target) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), target, key, value).ok());
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

}  // namespace rollup::testing
