#pragma once
// The load–strategy–save cycle (SPEC §2, §6, §7) behind a per-correlation-ID
// strand. This is the only room that calls strategy() and the only writer of
// open groups.
//
// Threading: every method may be called from any thread and returns at once.
// The handler runs later, never on the caller's thread, after the
// transaction holding the change committed: on one of the aggregator's
// storage threads, or with `sync_after_commit` on the thread that synced the
// commit. Callers that own I/O (HTTP sessions) post the result back to their
// own executor.
// Notifications for one correlation ID are applied one at a time in the
// order ingest() was called; different IDs proceed in parallel.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rollupd/core/delivery_state.hpp"
#include "rollupd/core/error.hpp"
#include "rollupd/core/strategy.hpp"
#include "rollupd/core/time.hpp"
#include "rollupd/metrics/registry.hpp"

namespace rollup {

namespace storage {
class database;
}

// What a commit queued for delivery: the lowest digest Id it queued (the
// dispatcher need look no further back), and the digests it made, as they
// were committed (none when it queued a stored digest again).
struct queued_digests {
  std::string lowest_id;
  std::vector<std::shared_ptr<const digest>> made;
};

struct aggregator_options {
  policy rules;
  duration completion_timeout = std::chrono::minutes{10};  // 0 = never
  duration dedupe_window = std::chrono::hours{24};
  duration digest_retention = std::chrono::hours{24 * 7};  // delivered digests are pruned after this
  // Threads for the cycles and reads: at most one per core, and never all
  // of them, run cycles at a time.
  std::size_t storage_threads = 8;
  // Commit without syncing, and answer once a sync of the write-ahead log
  // made after the commit has returned: one thread syncs for every commit
  // made meanwhile (durability "fsync"). Until then the change is already
  // visible to readers, but nobody has been told it happened.
  bool sync_after_commit = false;
  duration timeout_tick = std::chrono::seconds{1};  // how often due groups are looked for
  std::vector<std::string> sinks{"log"};            // every digest is queued for each of these
  // Called after a commit that queued digests (wakes the dispatcher).
  std::function<void(queued_digests)> on_queued;
  std::string checkpoint_dir;  // where checkpoint() puts its copies; empty = checkpoints off
  // Where the counts of notifications, digests, open groups and queued
  // deliveries go (the daemon shares one registry among its rooms).
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
};

struct ingest_request {
  std::vector<notification> items;             // already validated
  std::optional<std::string> idempotency_key;  // the Idempotency-Key header (single object only)
};

// SPEC §4.1: one element's answer.
struct ingest_result {
  std::string email;  // correlation ID
  std::size_t pending = 0;
  bool duplicate = false;
  std::shared_ptr<const digest> emitted;  // none unless it completed a group
};

// SPEC §4.2 open group views.
struct group_summary {
  std::string email;
  std::size_t count = 0;
  timestamp first_received_at;
  std::optional<timestamp> due_at;  // empty when completion_timeout is 0
};
struct group_view {
  group_summary summary;
  std::vector<notification> notifications;
};

// A digest with where it stands with each sink.
struct stored_digest {
  digest d;
  std::vector<delivery_state> deliveries;
};

class aggregator {
 public:
  template <class T>
  using handler = std::function<void(result<T>)>;

  aggregator(storage::database& db, const time_source& clock, aggregator_options options);
  ~aggregator();  // waits for running transactions; call drain() first to stop taking work
  aggregator(const aggregator&) = delete;
  aggregator& operator=(const aggregator&) = delete;

  // Applies each item in order. Errors: storage_unavailable, draining.
  // Each user's part of an array is applied in one transaction, usually
  // together with other users' work; on a storage error some users' parts
  // may have committed (retrying with Ids is safe: duplicates are answered,
  // not applied twice).
  void ingest(ingest_request request, handler<std::vector<ingest_result>> done);

  // SPEC §4.2 flush: completes the open group with reason "flush".
  // Errors: not_found, storage_unavailable, draining.
  void flush(std::string correlation_id, handler<digest> done);

  void get_group(std::string correlation_id, handler<group_view> done);  // not_found
  // Open groups ordered by correlation ID, strictly after `after`.
  void list_groups(std::string after, std::size_t limit, handler<std::vector<group_summary>> done);

  void get_digest(std::string id, handler<stored_digest> done);  // not_found
  // Recent digests newest first; `email` filters by correlation ID; `after`
  // is the last Id of the previous page (empty for the first page).
  void list_digests(std::optional<std::string> email, std::string after, std::size_t limit,
                    handler<std::vector<stored_digest>> done);
  // Queues a dead-lettered digest for delivery again; answers how many sinks
  // it was queued for. Errors: not_found, conflict (nothing is dead).
  void redeliver(std::string id, handler<std::size_t> done);

  // SPEC §2 rule 3: completes every group due now with reason "timeout",
  // each through its user's strand; answers how many digests it emitted.
  // A timer calls this every timeout_tick (and once at start, which emits
  // the groups that fell due while the daemon was down, marked Late).
  void expire_due(handler<std::size_t> done);

  // SPEC §6: forgets the idempotency records expired by now, each through
  // its user's strand; answers how many expired index entries it went
  // through (a record remembered again since keeps its later expiry, and is
  // counted too). A timer runs such a round every minute, up to 10,000
  // records at a time.
  void forget_expired(handler<std::size_t> done);

  // SPEC §4.2: a consistent RocksDB checkpoint in a new directory under
  // checkpoint_dir, named by the time (UTC); answers its path.
  void checkpoint(handler<std::string> done);

  // Storage open and writable (a small write to the metadata family).
  void check_ready(handler<ok_t> done);

  // Correlation IDs with work queued or running right now. Idle users hold
  // no strand, so this stays small however many users there are.
  std::size_t active_strands() const;

  // Stop taking new work (handlers of later calls get errc::draining) and
  // block until everything already taken has committed and been answered.
  void drain();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rollup
