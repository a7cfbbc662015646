#pragma once
// The RocksDB TransactionDB behind rollupd (SPEC §7, §8). Nothing outside
// storage/ sees a RocksDB type: column families, key encoding and
// transactions are wrapped here.
//
// Column families:
//   groups           correlation ID -> open group (with its due time)
//   deadlines        be64(due ns) correlation ID -> "" (completion-timeout index;
//                    a closed group's entry stays until due_groups removes it)
//   dedupe           correlation ID \0 key -> expiry of the idempotency record
//   dedupe_expiry    be64(expiry ns) correlation ID \0 key -> "" (pruning index)
//   outbox           sink \0 digest Id -> outbox entry (pending deliveries only)
//   digests          digest Id -> digest (Ids are time-ordered)
//   digests_by_email correlation ID \0 digest Id, each byte inverted -> ""
//                    (one user's newest first)
//   deliveries       digest Id \0 sink -> delivery state (what the API shows)
//   meta             small facts about the database itself (format version,
//                    the digest index's order)
//
// Thread-safety: database is safe to use from many threads; a transaction
// belongs to one thread at a time.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rollupd/core/delivery_state.hpp"
#include "rollupd/core/error.hpp"
#include "rollupd/core/strategy.hpp"
#include "rollupd/core/time.hpp"

namespace rollup::storage {

struct database_options {
  std::string path;  // the data directory; created if missing
  bool sync = true;  // true: fsync the WAL before a commit returns; false: write to the OS only
  std::chrono::milliseconds lock_timeout{2000};  // how long a transaction waits for a row lock
};

// How a transaction is run.
struct transaction_options {
  // Never sync at commit: the caller makes the commit durable with
  // database::sync_wal() before telling anyone it happened.
  bool unsynced = false;
  // Lock each key read for update or written until commit or rollback (a
  // transaction that wants a locked key waits up to lock_timeout, then
  // fails). Without locks the caller guarantees that no other transaction
  // writes the same keys meanwhile: the aggregator's strands run one cycle
  // of a user at a time, and nothing else writes a user's group or
  // idempotency records.
  bool row_locks = true;
};

// An idempotency record past its expiry, found by database::expired_records.
struct expired_record {
  std::string correlation_id;
  std::string key;
  timestamp expires_at;
};

// A digest waiting for one sink.
struct outbox_entry {
  std::string sink;
  std::string digest_id;
  std::string email;  // correlation ID: deliveries are ordered per user
  int attempts = 0;
  timestamp next_attempt_at;
};

// One load–strategy–save cycle. Every change goes into one RocksDB
// transaction and becomes visible only at commit(); a transaction destroyed
// without commit() leaves nothing behind. Errors: storage_unavailable.
class transaction {
 public:
  virtual ~transaction() = default;

  // Reads the open group (and, with row locks, locks it until commit or rollback).
  virtual result<std::optional<group>> load_group(const std::string& correlation_id) = 0;
  // Writes the group and indexes its due_at when that is new. Call
  // load_group for the same ID first in this transaction.
  virtual result<ok_t> save_group(const group& g) = 0;
  virtual result<ok_t> delete_group(const std::string& correlation_id) = 0;

  // True when `key` was remembered for this user and has not expired at `now`.
  virtual result<bool> seen(const std::string& correlation_id, const std::string& key, timestamp now) = 0;
  virtual result<ok_t> remember(const std::string& correlation_id, const std::string& key, timestamp expires_at) = 0;
  // Deletes the record if it still expires at `expires_at` (remembered again
  // since, with a later expiry, it stays), and its entry in the expiry index.
  virtual result<ok_t> forget(const std::string& correlation_id, const std::string& key, timestamp expires_at) = 0;

  // Stores the digest and queues it in the outbox of every sink named.
  virtual result<ok_t> put_digest(const digest& d, const std::vector<std::string>& sinks) = 0;

  virtual result<ok_t> commit() = 0;
};

class database {
 public:
  // Opens (or creates) the database. Throws std::runtime_error with the
  // reason when it cannot: this happens only at start-up.
  static std::unique_ptr<database> open(const database_options& options);
  virtual ~database() = default;

  // A transaction for load–strategy–save cycles. Its commit syncs as
  // database_options::sync says, unless `options` say unsynced.
  virtual std::unique_ptr<transaction> begin(transaction_options options) = 0;
  std::unique_ptr<transaction> begin() { return begin(transaction_options{}); }
  // Syncs the write-ahead log: every commit that returned before the call is
  // on disk when it returns. Writes on other threads go on meanwhile.
  virtual result<ok_t> sync_wal() = 0;

  virtual result<std::optional<group>> read_group(const std::string& correlation_id) = 0;
  // Open groups with correlation ID strictly greater than `after`, in order.
  virtual result<std::vector<group>> list_groups(const std::string& after, std::size_t limit) = 0;

  virtual result<std::optional<digest>> read_digest(const std::string& id) = 0;
  // Digests newest first, optionally of one correlation ID, strictly older
  // than the digest Id `after` (empty: from the newest).
  virtual result<std::vector<digest>> list_digests(const std::optional<std::string>& correlation_id,
                                                   const std::string& after, std::size_t limit) = 0;
  // Full scans, for tests and for the metrics' starting values.
  virtual result<std::size_t> count_groups() = 0;
  virtual result<std::size_t> count_outbox() = 0;
  virtual result<std::size_t> count_outbox_of(const std::string& sink) = 0;

  // Correlation IDs of groups due at or before `now`, earliest first. Removes
  // the index entries due by then whose group has closed or moved its due
  // time, the first time it looks at them; the next call starts after them.
  // So the cost is in proportion to the entries falling due, not to all groups.
  virtual result<std::vector<std::string>> due_groups(timestamp now, std::size_t limit) = 0;

  // --- delivery (SPEC §5) ---
  // Hands `visit` the pending entries of one sink in digest Id order (oldest
  // first), from the first whose digest Id is `from` or later ("" = from the
  // oldest), until it returns false or `limit` entries were handed over.
  // Answers how many were. Seeking past `from` skips the deleted keys of
  // entries retired before it; stopping early reads no further.
  virtual result<std::size_t> visit_outbox(const std::string& sink, const std::string& from, std::size_t limit,
                                           const std::function<bool(outbox_entry)>& visit) = 0;
  // The same entries as a list.
  result<std::vector<outbox_entry>> list_outbox(const std::string& sink, std::size_t limit,
                                                const std::string& from = {}) {
    std::vector<outbox_entry> out;
    auto n = visit_outbox(sink, from, limit, [&out](outbox_entry e) {
      out.push_back(std::move(e));
      return true;
    });
    if (!n) return n.err();
    return out;
  }
  // The three below write without syncing, in either durability mode: losing
  // one in a crash of the machine only means a repeat delivery or attempt,
  // which at-least-once delivery allows (SPEC §5).
  // A failed attempt: the entry stays, with its new count and next time.
  virtual result<ok_t> record_failure(const outbox_entry& e, const std::string& error) = 0;
  // The sink confirmed these entries: they are retired, all in one
  // transaction (the dispatcher retires what one pass delivered together).
  virtual result<ok_t> retire(std::span<const outbox_entry> entries, timestamp delivered_at) = 0;
  result<ok_t> retire(const outbox_entry& e, timestamp delivered_at) { return retire({&e, 1}, delivered_at); }
  // Out of attempts: the entry leaves the outbox, marked dead.
  virtual result<ok_t> dead_letter(const outbox_entry& e, const std::string& error) = 0;
  // Queues every dead-lettered delivery of the digest again (attempts reset).
  // Returns the sinks it was queued for; not_found for an unknown digest.
  virtual result<std::vector<std::string>> redeliver(const std::string& digest_id, timestamp now) = 0;
  virtual result<std::vector<delivery_state>> read_deliveries(const std::string& digest_id) = 0;
  // Deletes up to `max` digests emitted before `cutoff` whose every delivery
  // is done (delivered); dead-lettered and pending ones are kept.
  virtual result<std::size_t> prune_digests(timestamp cutoff, std::size_t max) = 0;

  // Up to `max` idempotency records that expired at or before `now`, earliest
  // first; each is deleted by transaction::forget in a cycle of its user.
  virtual result<std::vector<expired_record>> expired_records(timestamp now, std::size_t max) = 0;

  // A consistent copy of the whole database in `dir` (which must not exist;
  // its parent is created), usable as a data_dir. Cheap: files are
  // hard-linked where the file system allows.
  virtual result<ok_t> checkpoint_to(const std::string& dir) = 0;

  // A small durable write to the metadata family: is storage writable?
  virtual result<ok_t> probe_write() = 0;
};

}  // namespace rollup::storage
