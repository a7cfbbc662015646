#pragma once
// Reads and writes a closed rollupd database with RocksDB itself, as an
// earlier release or a damaged disk may have left it: for tests of what
// rollupd does with what it finds, and of what it leaves behind.

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/debug.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rollup::testing {

// Opens the database in `dir` (which rollupd must have created, and must
// not have open) and hands `use` the database and the family named.
inline void with_raw_family(const std::string& dir, const std::string& family,
                            const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& use) {
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
  if (target) use(*db, target);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

// Writes `value` under `key` in `family`.
inline void put_raw(const std::string& dir, const std::string& family, const std::string& key,
                    const std::string& value) {
  with_raw_family(dir, family, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    EXPECT_TRUE(db.Put(rocksdb::WriteOptions(), h, key, value).ok());
  });
}

// The keys of `family`, in order.
inline std::vector<std::string> keys_raw(const std::string& dir, const std::string& family) {
  std::vector<std::string> keys;
  with_raw_family(dir, family, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok());
  });
  return keys;
}

// Every version RocksDB still holds of `key` in `family`, deletes included
// (an iterator hides those): what rollupd wrote, not only what it reads back.
inline std::vector<rocksdb::KeyVersion> versions_raw(const std::string& dir, const std::string& family,
                                                     const std::string& key) {
  std::vector<rocksdb::KeyVersion> versions;  // the range [key, key]: both ends are inclusive
  with_raw_family(dir, family, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    EXPECT_TRUE(rocksdb::GetAllKeyVersions(&db, h, key, key, 1000, &versions).ok());
  });
  return versions;
}

}  // namespace rollup::testing
