#include "rollupd/storage/database.hpp"

#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "rollupd/core/binary_form.hpp"
#include "rollupd/core/codec.hpp"

namespace rollup::storage {
namespace {

using binary::be64;
using binary::read_be64;

// Column family order is fixed: the index is the family's handle slot.
enum cf : std::size_t {
  groups,
  deadlines,
  dedupe,
  dedupe_expiry,
  outbox,
  digests,
  digests_by_email,
  deliveries,
  meta,
  cf_count
};
constexpr std::array<const char*, cf_count> cf_names{
    "groups", "deadlines", "dedupe", "dedupe_expiry", "outbox", "digests", "digests_by_email", "deliveries", "meta"};

constexpr const char* format_key = "format_version";
// In meta once digests_by_email is keyed newest first (user_digest_key).
constexpr const char* digest_index_key = "digest_index";
constexpr const char* digest_index_order = "newest_first";
// Buckets of the hashed memtables (point_lookup_options): 512 KiB of each
// such memtable; a million users put about 15 keys in a bucket.
constexpr std::size_t memtable_buckets = std::size_t{1} << 16;
constexpr std::size_t memtable_budget_bytes = std::size_t{64} << 20;
// Deadline entries one due_groups call looks at, at most (stale ones included).
constexpr std::size_t max_deadlines_per_look = 100'000;

error storage_error(const rocksdb::Status& s, const char* what) {
  return error{errc::storage_unavailable, std::string("storage could not ") + what + ": " + s.ToString(), {}};
}

std::string pair_key(const std::string& a, const std::string& b) {
  std::string k;
  k.reserve(a.size() + 1 + b.size());
  k += a;
  k += '\0';
  k += b;
  return k;
}

// digests_by_email keys: the correlation ID, \0, then the digest Id with
// every byte inverted (255 - b). Ids are time-ordered and all of one length
// (digest_id_size), so one user's keys go newest first, and a page of
// GET /v1/digests?email= reads its own entries and no others (the family is
// read forward only: per_user_options). Earlier releases wrote the Id as it
// is; open() rewrites such keys once (migrate_digest_index).
void append_inverted(std::string& out, std::string_view s) {
  for (const char c : s) out += static_cast<char>(~static_cast<unsigned char>(c));
}

std::string user_digest_key(std::string_view cid, std::string_view id) {
  std::string k;
  k.reserve(cid.size() + 1 + id.size());
  k += cid;
  k += '\0';
  append_inverted(k, id);
  return k;
}

// Times before 1970 never occur here; clamp so the big-endian order holds.
std::uint64_t ordered(timestamp t) { return static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_nanos(t))); }

std::string encode_expiry(timestamp t) {
  return nlohmann::json{{"v", storage_format_version}, {"exp", to_nanos(t)}}.dump();
}

std::optional<timestamp> decode_expiry(std::string_view bytes) {
  const auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (!current_version(j)) return std::nullopt;
  const auto it = j.find("exp");
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return from_nanos(it->get<std::int64_t>());
}

std::string deadline_key(timestamp due, const std::string& cid) { return be64(ordered(due)) + cid; }

// Outbox entries are read on every pass of the dispatcher, often hundreds at
// a time, so they are binary (binary_form.hpp): attempts, the next attempt's
// time (nanoseconds), then the email. Entries written as JSON by earlier
// releases (they start with '{') are still read.
std::string encode_outbox(const outbox_entry& e) {
  binary::writer w(binary::outbox_v1);
  w.u32(static_cast<std::uint32_t>(e.attempts));
  w.i64(to_nanos(e.next_attempt_at));
  w.rest(e.email);
  return std::move(w).take();
}

// The value's fields in the JSON form of earlier releases; false when unreadable.
bool read_outbox_json(std::string_view bytes, outbox_entry& e) {
  const auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (!current_version(j)) return false;
  const auto email = j.find("email");
  const auto attempts = j.find("attempts");
  const auto next = j.find("next");
  if (email == j.end() || !email->is_string() || attempts == j.end() || !attempts->is_number_integer() ||
      next == j.end() || !next->is_number_integer())
    return false;
  e.email = email->get<std::string>();
  e.attempts = static_cast<int>(attempts->get<std::int64_t>());
  e.next_attempt_at = from_nanos(next->get<std::int64_t>());
  return true;
}

// The value's fields in the binary form; false when unreadable.
bool read_outbox_binary(std::string_view bytes, outbox_entry& e) {
  binary::reader r(bytes, binary::outbox_v1);
  std::uint32_t attempts = 0;
  std::int64_t next = 0;
  if (!r.u32(attempts) || !r.i64(next) || !r.rest(e.email) || !r.done()) return false;
  if (attempts > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) return false;
  e.attempts = static_cast<int>(attempts);
  e.next_attempt_at = from_nanos(next);
  return true;
}

std::optional<outbox_entry> decode_outbox(std::string_view key, std::string_view bytes) {
  const auto sep = key.find('\0');
  if (sep == std::string_view::npos) return std::nullopt;
  outbox_entry e{std::string(key.substr(0, sep)), std::string(key.substr(sep + 1)), {}, 0, {}};
  const bool read = binary::is_json_form(bytes) ? read_outbox_json(bytes, e) : read_outbox_binary(bytes, e);
  if (!read) return std::nullopt;
  return e;
}

// A stored open group, or an error naming whose group is unreadable.
result<std::optional<group>> read_stored_group(const std::string& cid, std::string_view value) {
  auto g = decode_group(value);
  if (!g) return error{errc::storage_unavailable, "the stored group of " + cid + " is unreadable", {}};
  return std::optional<group>{std::move(*g)};
}

// The families read and written one key at a time, never scanned in a
// cycle (the open groups, the idempotency records), keep their memtable in
// a hash table of buckets, one per key, instead of one skiplist of
// everything. Each cycle reads and writes its user's group: in one large
// skiplist each of those searches cost a cache miss per level, and searches
// were a quarter of a storage cycle's CPU (tests/bench/RESULTS.md, session 8).
// A bucket is a sorted list (a skiplist once it holds over 256 entries):
// a key's newest version sorts first, so writing and reading a group touch
// the list's head. In skiplist buckets Debian's RocksDB, built with its
// assertions on, searched each bucket twice per write (session 17). A scan
// of such a family must ask for total order (ordered_scan), which costs a
// sorted copy of the memtable's keys.
void point_lookup_options(rocksdb::ColumnFamilyOptions& o) {
  o.prefix_extractor.reset(rocksdb::NewNoopTransform());  // the bucket is the whole key
  o.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(memtable_buckets, /*huge_page_tlb_size=*/0,
                                                              /*bucket_entries_logging_threshold=*/0,
                                                              /*if_log_bucket_dist_when_flash=*/false));
}

// The prefix of a key "correlation ID \0 rest": the correlation ID and its \0.
class up_to_nul final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "rollupd.UpToNul"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const auto sep = key.ToStringView().find('\0');
    return {key.data(), sep == std::string_view::npos ? key.size() : sep + 1};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.ToStringView().find('\0') != std::string_view::npos;
  }
};

// The index of each user's digests is written once per digest at a random
// place (the user's email comes first), and read only one user at a time.
// So its memtable is a hash table of small skiplists, one per user: an
// insert into one skiplist of every user's digests was a full search, about
// 10,000 instructions (tests/bench/RESULTS.md, session 14). A scan of it
// stays within one user's prefix and goes forward only (these memtables
// cannot seek backwards).
void per_user_options(rocksdb::ColumnFamilyOptions& o) {
  o.prefix_extractor = std::make_shared<up_to_nul>();
  o.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(memtable_buckets));
}

rocksdb::ReadOptions ordered_scan() {
  rocksdb::ReadOptions o;
  o.total_order_seek = true;
  return o;
}

class rocksdb_transaction final : public transaction {
 public:
  rocksdb_transaction(std::unique_ptr<rocksdb::Transaction> txn,
                      const std::array<rocksdb::ColumnFamilyHandle*, cf_count>& cfs,
                      std::atomic<std::uint64_t>& earliest_new_deadline)
      : txn_(std::move(txn)), cfs_(cfs), earliest_new_deadline_(earliest_new_deadline) {}

  ~rocksdb_transaction() override {
    if (!done_) txn_->Rollback().PermitUncheckedError();
  }

  result<std::optional<group>> load_group(const std::string& cid) override {
    loaded_due_[cid] = std::nullopt;
    std::string value;
    if (const auto own = written_groups_.find(cid); own != written_groups_.end()) {
      if (!own->second) return std::optional<group>{};
      value = *own->second;
    } else {
      const auto s = txn_->GetForUpdate(read_options_, cfs_[groups], cid, &value);
      if (s.IsNotFound()) return std::optional<group>{};
      if (!s.ok()) return storage_error(s, "read an open group");
    }
    auto g = read_stored_group(cid, value);
    if (g && *g) loaded_due_[cid] = (*g)->due_at;
    return g;
  }

  // Groups and deadlines are written unindexed (see unindexed()); the
  // transaction keeps its own groups to read them back.
  result<ok_t> save_group(const group& g) override {
    auto& own = written_groups_[g.correlation_id];
    own = encode_group(g);
    return unindexed([&]() -> result<ok_t> {
      if (auto r = move_deadline(g.correlation_id, g.due_at); !r) return r;
      return check(txn_->Put(cfs_[groups], g.correlation_id, *own), "write an open group");
    });
  }

  result<ok_t> delete_group(const std::string& cid) override {
    written_groups_[cid] = std::nullopt;
    return unindexed([&]() -> result<ok_t> {
      if (auto r = move_deadline(cid, std::nullopt); !r) return r;
      return check(txn_->Delete(cfs_[groups], cid), "delete an open group");
    });
  }

  result<bool> seen(const std::string& cid, const std::string& key, timestamp now) override {
    std::string value;
    const auto s = txn_->GetForUpdate(read_options_, cfs_[dedupe], pair_key(cid, key), &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return storage_error(s, "read an idempotency record");
    const auto exp = decode_expiry(value);
    return exp.has_value() && *exp > now;
  }

  result<ok_t> remember(const std::string& cid, const std::string& key, timestamp expires_at) override {
    const auto k = pair_key(cid, key);
    if (auto r = check(txn_->Put(cfs_[dedupe], k, encode_expiry(expires_at)), "write an idempotency record"); !r)
      return r;
    return check(txn_->Put(cfs_[dedupe_expiry], be64(ordered(expires_at)) + k, ""), "index an idempotency record");
  }

  result<ok_t> forget(const std::string& cid, const std::string& key, timestamp expires_at) override {
    const auto k = pair_key(cid, key);
    std::string value;
    auto s = txn_->GetForUpdate(read_options_, cfs_[dedupe], k, &value);
    if (s.ok()) {
      const auto stored = decode_expiry(value);
      if (!stored || ordered(*stored) == ordered(expires_at)) s = txn_->Delete(cfs_[dedupe], k);
    } else if (s.IsNotFound()) {
      s = rocksdb::Status::OK();
    }
    if (s.ok()) s = txn_->Delete(cfs_[dedupe_expiry], be64(ordered(expires_at)) + k);
    return check(s, "forget an idempotency record");
  }

  // A digest's keys are new (its Id was just made) and nothing in this
  // transaction reads them.
  result<ok_t> put_digest(const digest& d, const std::vector<std::string>& sinks) override {
    return unindexed([&] { return put_digest_keys(d, sinks); });
  }

  result<ok_t> commit() override {
    done_ = true;
    auto r = check(txn_->Commit(), "commit");
    // Told after the commit, so a look for due groups that hears of it
    // sees the entry too (see due_groups).
    if (r && earliest_due_) {
      auto seen = earliest_new_deadline_.load();
      while (*earliest_due_ < seen && !earliest_new_deadline_.compare_exchange_weak(seen, *earliest_due_)) {
      }
    }
    return r;
  }

 private:
  static result<ok_t> check(const rocksdb::Status& s, const char* what) {
    if (s.ok()) return ok_t{};
    return storage_error(s, what);
  }

  // Runs `write` with its writes kept out of the transaction's index of its
  // own writes. Only the transaction's reads use that index, and keeping it
  // costs a search of its skiplist per write: for groups and deadlines that
  // was about a tenth of a storage cycle's instructions
  // (tests/bench/RESULTS.md, session 14). Only writes nothing in the
  // transaction reads back through RocksDB go here.
  template <class Write>
  result<ok_t> unindexed(Write write) {
    txn_->DisableIndexing();
    auto r = write();
    txn_->EnableIndexing();
    return r;
  }

  result<ok_t> put_digest_keys(const digest& d, const std::vector<std::string>& sinks) {
    if (auto r = check(txn_->Put(cfs_[digests], d.id, encode_digest(d)), "write a digest"); !r) return r;
    if (auto r = check(txn_->Put(cfs_[digests_by_email], user_digest_key(d.email, d.id), ""), "index a digest"); !r)
      return r;
    for (const auto& sink : sinks) {
      const outbox_entry e{sink, d.id, d.email, 0, d.emitted_at};
      if (auto r = check(txn_->Put(cfs_[outbox], pair_key(sink, d.id), encode_outbox(e)), "queue a digest"); !r)
        return r;
      const delivery_state st{sink, delivery_status::pending, 0, "", d.emitted_at, std::nullopt};
      if (auto r = check(txn_->Put(cfs_[deliveries], pair_key(d.id, sink), encode_delivery(st)), "queue a digest"); !r)
        return r;
    }
    return ok_t{};
  }

  // Indexes a new due time. The entry of the group as loaded stays behind:
  // due_groups removes it once it falls due (see there).
  result<ok_t> move_deadline(const std::string& cid, const std::optional<timestamp>& due) {
    const auto it = loaded_due_.find(cid);
    const std::optional<timestamp> old = it == loaded_due_.end() ? std::nullopt : it->second;
    if (old == due) return ok_t{};
    if (due) {
      if (auto r = check(txn_->Put(cfs_[deadlines], deadline_key(*due, cid), ""), "write a deadline"); !r) return r;
      earliest_due_ = std::min(earliest_due_.value_or(ordered(*due)), ordered(*due));
    }
    loaded_due_[cid] = due;
    return ok_t{};
  }

  std::unique_ptr<rocksdb::Transaction> txn_;
  const std::array<rocksdb::ColumnFamilyHandle*, cf_count>& cfs_;
  rocksdb::ReadOptions read_options_;
  std::unordered_map<std::string, std::optional<timestamp>> loaded_due_;
  std::unordered_map<std::string, std::optional<std::string>> written_groups_;  // encoded; none: deleted
  std::atomic<std::uint64_t>& earliest_new_deadline_;                           // the database's, told at commit
  std::optional<std::uint64_t> earliest_due_;  // of the deadlines this transaction wrote
  bool done_ = false;
};

class rocksdb_database final : public database {
 public:
  explicit rocksdb_database(const database_options& o) {
    std::error_code ec;
    std::filesystem::create_directories(o.path, ec);
    if (ec) throw std::runtime_error("cannot create data directory " + o.path + ": " + ec.message());

    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.IncreaseParallelism(2);
    options.max_open_files = 512;
    options.keep_log_file_num = 5;
    // The leader of a write group inserts the whole group into the memtables
    // itself. With concurrent inserts each waiting writer was woken to insert
    // its own batch, then waited for the others: on 2 cores, with 8 storage
    // threads committing, those waits and wake-ups took more CPU than the
    // inserts (tests/bench/RESULTS.md, session 5).
    options.allow_concurrent_memtable_write = false;
    // A skiplist memtable's insert starts from where the last one went and
    // climbs only as far as it must (a search of the levels near the
    // bottom). Without a hint RocksDB searches from the top whenever a key
    // lands before the last one: the outbox's and the deliveries' retirings
    // land a few entries behind the new digests' keys, so each was a full
    // search of the memtable, about 40 % of the dispatcher's CPU
    // (tests/bench/RESULTS.md, session 23). One hint for the whole family
    // (an empty prefix); the hashed memtables ignore it.
    options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
    // One memory budget for the memtables of all column families: when they
    // hold this much together, the largest is flushed. Without it each family
    // may hold 2 x 64 MB, and a million open groups pushed the daemon past
    // 300 MB (tests/bench scenario 3).
    options.db_write_buffer_size = memtable_budget_bytes;
    // A TransactionDB left at 0 here keeps each family's flushed memtables,
    // up to 2 x 64 MB, as write history for checking conflicts against a
    // snapshot. rollupd's transactions take no snapshot (the strand is what
    // orders one user's cycles), so that history only held memory: under
    // steady load the heap grew by ~700 bytes a request toward 1 GB.
    // 0 would mean "unset" and get the default back; 1 byte keeps none.
    options.max_write_buffer_size_to_maintain = 1;
    // Hand written data to the disk each megabyte (sync_file_range, which
    // does not wait), not all at once: with durability = "wal" the log is
    // never synced until a flush syncs the closed one, and that fdatasync
    // of tens of MB blocked the commits writing to the new log for up to
    // 30 ms (at 12,800 requests/s, p99.9 25 ms -> 6 ms; tests/bench/RESULTS.md,
    // session 18). Durability is unchanged: this only starts writeback.
    options.wal_bytes_per_sync = 1 << 20;
    options.bytes_per_sync = 1 << 20;
    // Flushes and compactions run at the lowest CPU priority (nice 19), so
    // a flush's burst of work waits for a free core rather than taking one
    // from the threads that answer requests. At half load p99 fell in each
    // of seven pairs (3.1 -> 2.3 ms, say), at full load nothing moved; when
    // the cores are busy for longer than a memtable lasts, writes wait for
    // the flush as they would anyway (tests/bench/RESULTS.md, session 22).
    // The setting is the process's: every database opened in it shares it.
    for (const auto pool : {rocksdb::Env::Priority::HIGH, rocksdb::Env::Priority::LOW})
      options.env->LowerThreadPoolCPUPriority(pool, rocksdb::CpuPriority::kLow).PermitUncheckedError();
    rocksdb::TransactionDBOptions txn_options;
    txn_options.transaction_lock_timeout = o.lock_timeout.count();

    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options));
    for (const char* name : cf_names) families.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
    for (const cf family : {groups, dedupe}) point_lookup_options(families[1 + family].options);
    per_user_options(families[1 + digests_by_email].options);

    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::TransactionDB* raw = nullptr;
    const auto s = rocksdb::TransactionDB::Open(options, txn_options, o.path, families, &handles, &raw);
    if (!s.ok()) throw std::runtime_error("cannot open the database in " + o.path + ": " + s.ToString());
    db_.reset(raw);
    default_cf_ = handles[0];
    for (std::size_t i = 0; i < cf_count; ++i) cfs_[i] = handles[i + 1];

    write_options_.sync = o.sync;
    check_format_version();
    migrate_digest_index();
  }

  ~rocksdb_database() override {
    // Handles are released before the database closes.
    for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->DestroyColumnFamilyHandle(default_cf_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  using database::begin;
  std::unique_ptr<transaction> begin(transaction_options o) override {
    // Without row locks a cycle skips the lock manager's mutexes and hash
    // tables for every key it reads or writes: about a quarter of a storage
    // cycle's instructions (tests/bench/RESULTS.md, session 13).
    rocksdb::TransactionOptions txn_options;
    txn_options.skip_concurrency_control = !o.row_locks;
    return std::make_unique<rocksdb_transaction>(
        std::unique_ptr<rocksdb::Transaction>(
            db_->BeginTransaction(o.unsynced ? unsynced_write_options_ : write_options_, txn_options)),
        cfs_, earliest_new_deadline_);
  }

  result<ok_t> sync_wal() override {
    const auto s = db_->SyncWAL();
    if (!s.ok()) return storage_error(s, "sync the write-ahead log");
    return ok_t{};
  }

  result<std::optional<group>> read_group(const std::string& cid) override {
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cfs_[groups], cid, &value);
    if (s.IsNotFound()) return std::optional<group>{};
    if (!s.ok()) return storage_error(s, "read an open group");
    return read_stored_group(cid, value);
  }

  result<std::vector<group>> list_groups(const std::string& after, std::size_t limit) override {
    std::vector<group> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ordered_scan(), cfs_[groups]));
    for (it->Seek(after); it->Valid() && out.size() < limit; it->Next()) {
      if (it->key().ToStringView() == after) continue;
      auto g = decode_group(it->value().ToStringView());
      if (!g) return error{errc::storage_unavailable, "an open group is unreadable: " + it->key().ToString(), {}};
      out.push_back(std::move(*g));
    }
    if (!it->status().ok()) return storage_error(it->status(), "list open groups");
    return out;
  }

  result<std::optional<digest>> read_digest(const std::string& id) override {
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cfs_[digests], id, &value);
    if (s.IsNotFound()) return std::optional<digest>{};
    if (!s.ok()) return storage_error(s, "read a digest");
    auto d = decode_digest(value);
    if (!d) return error{errc::storage_unavailable, "the stored digest " + id + " is unreadable", {}};
    return std::optional<digest>{std::move(*d)};
  }

  result<std::vector<digest>> list_digests(const std::optional<std::string>& cid, const std::string& after,
                                           std::size_t limit) override {
    auto ids = cid ? user_digest_ids(*cid, after, limit) : digest_ids(after, limit);
    if (!ids) return ids.err();
    std::vector<digest> out;
    out.reserve(ids->size());
    for (const auto& id : *ids) {
      auto d = read_digest(id);
      if (!d) return d.err();
      if (*d) out.push_back(std::move(**d));
    }
    return out;
  }

  // The Ids of list_digests over all digests: walks back from just below
  // `after` (or from the end).
  result<std::vector<std::string>> digest_ids(const std::string& after, std::size_t limit) {
    std::vector<std::string> ids;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[digests]));
    if (after.empty())
      it->SeekToLast();
    else
      it->SeekForPrev(after);
    for (; it->Valid() && ids.size() < limit; it->Prev()) {
      const auto id = it->key().ToStringView();
      if (id != after) ids.emplace_back(id);
    }
    if (!it->status().ok()) return storage_error(it->status(), "list digests");
    return ids;
  }

  // The Ids of list_digests for one user, newest first: their keys from
  // just past `after` on (user_digest_key), so a page costs its own entries.
  // Keys before the inverted `after` hold younger Ids; one longer than an Id
  // is cut to an Id's length first, since the Id it starts with is older.
  result<std::vector<std::string>> user_digest_ids(const std::string& cid, const std::string& after,
                                                   std::size_t limit) {
    std::vector<std::string> ids;
    const std::string prefix = cid + '\0';
    rocksdb::ReadOptions ro;
    ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[digests_by_email]));
    it->Seek(user_digest_key(cid, std::string_view(after).substr(0, digest_id_size)));
    for (; it->Valid() && ids.size() < limit; it->Next()) {
      const auto key = it->key().ToStringView();
      if (!key.starts_with(prefix)) break;
      std::string id;
      append_inverted(id, key.substr(prefix.size()));
      // `after` itself, or (a cursor shorter than an Id) an Id it begins
      if (!after.empty() && id >= after) continue;
      ids.push_back(std::move(id));
    }
    if (!it->status().ok()) return storage_error(it->status(), "list digests");
    return ids;
  }

  result<std::size_t> count_groups() override { return count_keys(groups, "", "count the open groups"); }
  result<std::size_t> count_outbox() override { return count_keys(outbox, "", "count the outbox"); }
  result<std::size_t> count_outbox_of(const std::string& sink) override {
    return count_keys(outbox, sink + '\0', "count the outbox");
  }

  // The deadline index keeps the entry of a group that closed or moved its
  // due time: removing it then was a delete at a random place in the
  // index's skiplist, and it spoilt the next entry's append at the end,
  // about 26,000 instructions per digest together (tests/bench/RESULTS.md,
  // session 14). Such an entry is removed here once it falls due: it is
  // stale when the user's group is gone or due at another time, and it stays
  // stale (a group's due time is its own opening time plus the timeout).
  //
  // The next look starts after the leading entries this one removed, so the
  // cost stays in proportion to the entries falling due, not to all groups.
  // A new entry can still fall before that point: a group opened while
  // timeouts were off gets a due time in the past, and so does any group
  // opened after the clock went back. So each commit tells the
  // earliest due time it wrote, and a look starts no later than the earliest
  // told since the one before. (Told after the commit and taken before the
  // scan's snapshot: an entry is either in the snapshot or told to the next
  // look.) Only entries the look has read are removed, one by one, so none
  // it has not seen is lost.
  result<std::vector<std::string>> due_groups(timestamp now, std::size_t limit) override {
    std::lock_guard lock(deadline_scan_mutex_);
    const auto until = ordered(now);
    const auto earliest_new = earliest_new_deadline_.exchange(std::numeric_limits<std::uint64_t>::max());
    if (earliest_new != std::numeric_limits<std::uint64_t>::max() && be64(earliest_new) < deadline_scan_from_)
      deadline_scan_from_ = be64(earliest_new);
    const auto bound = be64(until + 1);
    rocksdb::Slice upper(bound);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[deadlines]));
    std::vector<std::string> due;
    rocksdb::WriteBatch stale;
    auto from = deadline_scan_from_;  // where the next look starts
    bool leading = true;              // no live entry read yet
    std::size_t looked = 0;
    for (it->Seek(deadline_scan_from_); it->Valid() && due.size() < limit && looked < max_deadlines_per_look;
         it->Next(), ++looked) {
      const auto key = it->key().ToStringView();
      bool live = false;
      if (key.size() > 8) {
        std::string cid(key.substr(8));
        auto g = read_group(cid);
        // An unreadable group counts as due: its timeout fails for that user alone.
        live = !g || (*g && (*g)->due_at && ordered(*(*g)->due_at) == read_be64(key.substr(0, 8)));
        if (live) due.push_back(std::move(cid));
      }
      if (live) {
        leading = false;
        continue;
      }
      if (auto s = stale.Delete(cfs_[deadlines], key); !s.ok()) return storage_error(s, "remove stale deadlines");
      if (leading) from = std::string(key) + '\0';  // the least key after it
    }
    if (!it->status().ok()) return storage_error(it->status(), "read the deadline index");
    if (stale.Count() > 0) {
      rocksdb::TransactionDBWriteOptimizations unlocked;  // cycles write this family without row locks too
      unlocked.skip_concurrency_control = true;
      if (auto s = db_->Write(unsynced_write_options_, unlocked, &stale); !s.ok())
        return storage_error(s, "remove stale deadlines");
    }
    deadline_scan_from_ = std::move(from);
    return due;
  }

  result<std::size_t> visit_outbox(const std::string& sink, const std::string& from, std::size_t limit,
                                   const std::function<bool(outbox_entry)>& visit) override {
    std::size_t n = 0;
    const std::string prefix = sink + '\0';
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[outbox]));
    for (it->Seek(prefix + from); it->Valid() && n < limit; it->Next()) {
      const auto key = it->key().ToStringView();
      if (key.substr(0, prefix.size()) != prefix) break;
      auto e = decode_outbox(key, it->value().ToStringView());
      if (!e) return error{errc::storage_unavailable, "an outbox entry is unreadable: " + std::string(key), {}};
      ++n;
      if (!visit(std::move(*e))) break;
    }
    if (!it->status().ok()) return storage_error(it->status(), "read the outbox");
    return n;
  }

  result<ok_t> record_failure(const outbox_entry& e, const std::string& error_text) override {
    return update_delivery(e, [&](rocksdb::Transaction& txn, delivery_state& st) {
      st.status = delivery_status::pending;
      st.attempts = e.attempts;
      st.last_error = error_text;
      st.next_attempt_at = e.next_attempt_at;
      return txn.Put(cfs_[outbox], pair_key(e.sink, e.digest_id), encode_outbox(e));
    });
  }

  using database::retire;
  result<ok_t> retire(std::span<const outbox_entry> entries, timestamp delivered_at) override {
    // Delivered at their first attempt since they were queued (or queued
    // again): their states are known whole, with no error to keep, so
    // nothing is read. And nothing else writes these keys meanwhile: only
    // this sink's lane writes its pending entries, one call at a time
    // (put_digest and redeliver wrote them before the lane could see them;
    // prune_digests and redeliver skip pending deliveries). So the batch
    // skips the row locks too. This more than halved the CPU a retired
    // digest costs (tests/bench/RESULTS.md, session 11).
    const bool first_tries =
        std::all_of(entries.begin(), entries.end(), [](const outbox_entry& e) { return e.attempts == 1; });
    if (first_tries) {
      rocksdb::WriteBatch batch;
      for (const auto& e : entries) {
        delivery_state st;  // no earlier state to keep
        st.sink = e.sink;
        mark_delivered(st, e, delivered_at);
        auto s = batch.Put(cfs_[deliveries], pair_key(e.digest_id, e.sink), encode_delivery(st));
        if (s.ok()) s = batch.Delete(cfs_[outbox], pair_key(e.sink, e.digest_id));
        if (!s.ok()) return storage_error(s, "record a delivery");
      }
      rocksdb::TransactionDBWriteOptimizations unlocked;
      unlocked.skip_concurrency_control = true;
      const auto s = db_->Write(unsynced_write_options_, unlocked, &batch);
      if (!s.ok()) return storage_error(s, "record a delivery");
      return ok_t{};
    }
    return update_deliveries(entries, [&](rocksdb::Transaction& txn, const outbox_entry& e, delivery_state& st) {
      mark_delivered(st, e, delivered_at);
      return txn.Delete(cfs_[outbox], pair_key(e.sink, e.digest_id));
    });
  }

  // `st` as it reads once `e` was confirmed at `at` (its error, if any, kept).
  static void mark_delivered(delivery_state& st, const outbox_entry& e, timestamp at) {
    st.status = delivery_status::delivered;
    st.attempts = e.attempts;
    st.next_attempt_at.reset();
    st.delivered_at = at;
  }

  result<ok_t> dead_letter(const outbox_entry& e, const std::string& error_text) override {
    return update_delivery(e, [&](rocksdb::Transaction& txn, delivery_state& st) {
      st.status = delivery_status::dead;
      st.attempts = e.attempts;
      st.last_error = error_text;
      st.next_attempt_at.reset();
      return txn.Delete(cfs_[outbox], pair_key(e.sink, e.digest_id));
    });
  }

  result<std::vector<std::string>> redeliver(const std::string& digest_id, timestamp now) override {
    auto d = read_digest(digest_id);
    if (!d) return d.err();
    if (!*d) return error{errc::not_found, "no digest with Id " + digest_id, {}};
    auto states = read_deliveries(digest_id);
    if (!states) return states.err();
    std::unique_ptr<rocksdb::Transaction> txn(db_->BeginTransaction(write_options_));
    std::vector<std::string> sinks;
    auto s = rocksdb::Status::OK();
    for (const auto& seen : *states) {
      if (seen.status != delivery_status::dead) continue;
      // Read again under the row lock: a redelivery at the same time that
      // got there first has made it pending, and queued it once already.
      std::string value;
      s = txn->GetForUpdate(rocksdb::ReadOptions(), cfs_[deliveries], pair_key(digest_id, seen.sink), &value);
      if (s.IsNotFound()) {  // pruned meanwhile
        s = rocksdb::Status::OK();
        continue;
      }
      if (!s.ok()) break;
      auto current = decode_delivery(value);
      if (!current || current->status != delivery_status::dead) continue;
      auto& st = *current;
      const outbox_entry e{st.sink, digest_id, (*d)->email, 0, now};
      st.status = delivery_status::pending;
      st.attempts = 0;
      st.next_attempt_at = now;
      s = txn->Put(cfs_[outbox], pair_key(st.sink, digest_id), encode_outbox(e));
      if (s.ok()) s = txn->Put(cfs_[deliveries], pair_key(digest_id, st.sink), encode_delivery(st));
      if (!s.ok()) break;
      sinks.push_back(st.sink);
    }
    if (s.ok()) s = txn->Commit();
    if (!s.ok()) return storage_error(s, "queue a digest again");
    return sinks;
  }

  result<std::vector<delivery_state>> read_deliveries(const std::string& digest_id) override {
    std::vector<delivery_state> out;
    const std::string prefix = digest_id + '\0';
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[deliveries]));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView();
      if (key.substr(0, prefix.size()) != prefix) break;
      auto st = decode_delivery(it->value().ToStringView());
      if (!st) return error{errc::storage_unavailable, "a delivery state of " + digest_id + " is unreadable", {}};
      out.push_back(std::move(*st));
    }
    if (!it->status().ok()) return storage_error(it->status(), "read delivery states");
    return out;
  }

  result<std::size_t> prune_digests(timestamp cutoff, std::size_t max) override {
    std::size_t pruned = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[digests]));
    for (it->SeekToFirst(); it->Valid() && pruned < max; it->Next()) {
      const auto d = decode_digest(it->value().ToStringView());
      if (!d) continue;                    // unreadable: keep it for a person to look at
      if (d->emitted_at >= cutoff) break;  // Ids are time-ordered: the rest is younger
      auto states = read_deliveries(d->id);
      if (!states) return states.err();
      const bool done = std::all_of(states->begin(), states->end(),
                                    [](const delivery_state& st) { return st.status == delivery_status::delivered; });
      if (!done) continue;
      std::unique_ptr<rocksdb::Transaction> txn(db_->BeginTransaction(write_options_));
      auto s = txn->Delete(cfs_[digests], d->id);
      if (s.ok()) s = txn->Delete(cfs_[digests_by_email], user_digest_key(d->email, d->id));
      for (const auto& st : *states)
        if (s.ok()) s = txn->Delete(cfs_[deliveries], pair_key(d->id, st.sink));
      if (s.ok()) s = txn->Commit();
      if (!s.ok()) return storage_error(s, "prune digests");
      ++pruned;
    }
    if (!it->status().ok()) return storage_error(it->status(), "prune digests");
    return pruned;
  }

  result<std::vector<expired_record>> expired_records(timestamp now, std::size_t max) override {
    std::vector<expired_record> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[dedupe_expiry]));
    const auto limit = ordered(now);
    for (it->SeekToFirst(); it->Valid() && out.size() < max; it->Next()) {
      const auto key = it->key();
      if (key.size() < 8) continue;
      const auto exp = read_be64(std::string_view(key.data(), 8));
      if (exp > limit) break;
      const std::string_view record(key.data() + 8, key.size() - 8);  // correlation ID \0 key
      const auto sep = record.find('\0');
      if (sep == std::string_view::npos) continue;
      out.push_back(expired_record{std::string(record.substr(0, sep)), std::string(record.substr(sep + 1)),
                                   from_nanos(static_cast<std::int64_t>(exp))});
    }
    if (!it->status().ok()) return storage_error(it->status(), "read the expired idempotency records");
    return out;
  }

  result<ok_t> checkpoint_to(const std::string& dir) override {
    std::error_code ec;
    if (std::filesystem::exists(dir, ec))
      return error{errc::conflict, "checkpoint directory " + dir + " exists already", {}};
    const auto parent = std::filesystem::path(dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return error{errc::storage_unavailable, "cannot create " + parent.string() + ": " + ec.message(), {}};
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    // Flush first, so the checkpoint holds table files rather than a long WAL.
    if (s.ok()) s = cp->CreateCheckpoint(dir, 0);
    if (!s.ok()) return storage_error(s, "create a checkpoint");
    return ok_t{};
  }

  result<ok_t> probe_write() override {
    const auto s = db_->Put(write_options_, cfs_[meta], "probe", "1");
    if (!s.ok()) return storage_error(s, "write");
    return ok_t{};
  }

 private:
  // Keys of one family starting with `prefix` (all of them when empty).
  result<std::size_t> count_keys(cf family, const std::string& prefix, const char* what) {
    std::size_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ordered_scan(), cfs_[family]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    if (!it->status().ok()) return storage_error(it->status(), what);
    return n;
  }

  void check_format_version() {
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cfs_[meta], format_key, &value);
    const auto mine = std::to_string(storage_format_version);
    if (s.IsNotFound()) {
      const auto w = db_->Put(write_options_, cfs_[meta], format_key, mine);
      if (!w.ok()) throw std::runtime_error("cannot write to the database: " + w.ToString());
    } else if (!s.ok()) {
      throw std::runtime_error("cannot read the database: " + s.ToString());
    } else if (value != mine) {
      throw std::runtime_error("the database has format version " + value + "; this release reads version " + mine);
    }
  }

  // Earlier releases keyed digests_by_email by the Id as it is, oldest
  // first: each such key is rewritten as user_digest_key, before anything
  // reads the index. A key already rewritten is told apart by its bytes (an
  // Id is hex digits, and no inverted hex digit is one), so a rewrite cut
  // short goes on where it stopped. Done once: meta records it.
  void migrate_digest_index() {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cfs_[meta], digest_index_key, &value);
    if (s.ok() && value == digest_index_order) return;
    if (!s.ok() && !s.IsNotFound()) throw std::runtime_error("cannot read the database: " + s.ToString());
    const auto hex = [](std::string_view id) {
      return !id.empty() &&
             std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    };
    const auto write = [this](rocksdb::WriteBatch& batch) {
      const auto w = db_->Write(write_options_, &batch);
      if (!w.ok()) throw std::runtime_error("cannot rewrite the digest index: " + w.ToString());
      batch.Clear();
    };
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ordered_scan(), cfs_[digests_by_email]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView();
      const auto nul = key.find('\0');
      if (nul == std::string_view::npos || !hex(key.substr(nul + 1))) continue;
      s = batch.Delete(cfs_[digests_by_email], it->key());
      if (s.ok()) s = batch.Put(cfs_[digests_by_email], user_digest_key(key.substr(0, nul), key.substr(nul + 1)), "");
      if (!s.ok()) throw std::runtime_error("cannot rewrite the digest index: " + s.ToString());
      if (batch.Count() >= 10'000) write(batch);
    }
    if (!it->status().ok()) throw std::runtime_error("cannot read the digest index: " + it->status().ToString());
    s = batch.Put(cfs_[meta], digest_index_key, digest_index_order);
    if (!s.ok()) throw std::runtime_error("cannot rewrite the digest index: " + s.ToString());
    write(batch);
  }

  // Reads the delivery state of `e`, lets `change` edit it and the outbox in
  // one transaction, and writes the state back.
  template <class Change>
  result<ok_t> update_delivery(const outbox_entry& e, Change change) {
    return update_deliveries(
        {&e, 1}, [&](rocksdb::Transaction& txn, const outbox_entry&, delivery_state& st) { return change(txn, st); });
  }

  // update_delivery for several entries, all in one transaction.
  template <class Change>
  result<ok_t> update_deliveries(std::span<const outbox_entry> entries, Change change) {
    std::unique_ptr<rocksdb::Transaction> txn(db_->BeginTransaction(unsynced_write_options_));
    std::string value;
    for (const auto& e : entries) {
      const auto key = pair_key(e.digest_id, e.sink);
      auto s = txn->GetForUpdate(rocksdb::ReadOptions(), cfs_[deliveries], key, &value);
      delivery_state st{e.sink, delivery_status::pending, 0, "", std::nullopt, std::nullopt};
      if (s.ok()) {
        if (auto old = decode_delivery(value)) st = std::move(*old);
      } else if (!s.IsNotFound()) {
        return storage_error(s, "read a delivery state");
      }
      s = change(*txn, e, st);
      if (s.ok()) s = txn->Put(cfs_[deliveries], key, encode_delivery(st));
      if (!s.ok()) return storage_error(s, "record a delivery");
    }
    const auto s = txn->Commit();
    if (!s.ok()) return storage_error(s, "record a delivery");
    return ok_t{};
  }

  std::unique_ptr<rocksdb::TransactionDB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cfs_{};
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteOptions unsynced_write_options_;  // delivery bookkeeping; cycles their caller syncs
  std::mutex deadline_scan_mutex_;
  // The earliest due time committed since the last due_groups (max: none).
  std::atomic<std::uint64_t> earliest_new_deadline_{std::numeric_limits<std::uint64_t>::max()};
  std::string deadline_scan_from_;  // due_groups removed every entry before this key
};

}  // namespace

std::unique_ptr<database> database::open(const database_options& options) {
  return std::make_unique<rocksdb_database>(options);
}

}  // namespace rollup::storage
